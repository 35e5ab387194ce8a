#!/usr/bin/env bash
# Print what a real .NET (Core 3.1 on Linux, i.e. the Linux decoder a self-hosted gateway uses)
# shows for certificates: X500DistinguishedName.Name of Subject and Issuer, and SerialNumber, or
# LOADFAIL when X509Certificate2 refuses the bytes.
#
#   scripts/dotnet-oracle.sh cert1.der [cert2.der ...]
#
# One tab-separated line per file. Not used by the test suite; its answers are recorded in
# tests/integration/cert_dotnet.rs (MTLS_DOCTOR_DN_VECTORS=DIR makes that test write its DER there).
#
# Setup (once, into $ORACLE_DIR): the PyPI wheel dotnetcore2 3.1.23 carries the runtime; .NET Core
# 3.1 needs OpenSSL 1.1, which Debian 12 lacks, so libssl/libcrypto 1.1 come from the
# psycopg2-binary manylinux wheel (2.9.5: the oldest this index offers that bundles 1.1.1). The
# C# program is compiled with Debian's mono-mcs against the runtime's reference assemblies.
set -euo pipefail

ORACLE_DIR=${ORACLE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mtls-doctor/dotnet-oracle}
[ $# -gt 0 ] || { echo "usage: $0 CERT.der..." >&2; exit 2; }

setup() {
    command -v mcs >/dev/null || { echo "needs mcs: apt-get install -y mono-mcs" >&2; exit 1; }
    mkdir -p "$ORACLE_DIR/wheels" "$ORACLE_DIR/dn" "$ORACLE_DIR/pg" "$ORACLE_DIR/ssl"
    cd "$ORACLE_DIR"
    pip download --quiet --no-deps dotnetcore2==3.1.23 -d wheels
    pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
        --python-version 3.11 psycopg2-binary==2.9.5 -d wheels
    (cd dn && unzip -qo ../wheels/dotnetcore2-*.whl)
    (cd pg && unzip -qo ../wheels/psycopg2_binary-*.whl)
    cp pg/psycopg2_binary.libs/libssl-*.so.1.1 pg/psycopg2_binary.libs/libcrypto-*.so.1.1 ssl/
    (cd ssl && ln -sf libssl-*.so.1.1 libssl.so.1.1 && ln -sf libcrypto-*.so.1.1 libcrypto.so.1.1)
    cat > dn_name.cs <<'CS'
using System;
using System.IO;
using System.Security.Cryptography.X509Certificates;
class DnName {
  static void Main(string[] args) {
    foreach (var path in args) {
      try {
        var c = new X509Certificate2(File.ReadAllBytes(path));
        Console.WriteLine(path + "\tSUBJECT\t" + c.SubjectName.Name + "\tISSUER\t" + c.IssuerName.Name
          + "\tSERIAL\t" + c.SerialNumber);
      } catch (Exception e) {
        Console.WriteLine(path + "\tLOADFAIL\t" + e.GetType().Name + ": " + e.Message.Replace("\n", " "));
      }
    }
  }
}
CS
    local ref=dn/dotnetcore2/bin/shared/Microsoft.NETCore.App/3.1.23
    local refs=()
    for a in System.Runtime System.Console System.Security.Cryptography.X509Certificates \
        System.Security.Cryptography.Encoding System.IO.FileSystem System.Runtime.Extensions System.Private.CoreLib; do
        refs+=("-r:$ref/$a.dll")
    done
    mcs -nostdlib -noconfig "${refs[@]}" -out:dn_name.exe dn_name.cs
    echo '{"runtimeOptions":{"tfm":"netcoreapp3.1","framework":{"name":"Microsoft.NETCore.App","version":"3.1.23"}}}' \
        > dn_name.runtimeconfig.json
}

[ -f "$ORACLE_DIR/dn_name.exe" ] || (setup)

dotnet_bin="$ORACLE_DIR/dn/dotnetcore2/bin"
icu=$(ls /usr/lib/x86_64-linux-gnu/libicuuc.so.* 2>/dev/null | sed -n 's/.*libicuuc\.so\.\([0-9]*\)$/\1/p' | head -1)
LD_LIBRARY_PATH="$ORACLE_DIR/ssl" CLR_ICU_VERSION_OVERRIDE="${icu:-72}" DOTNET_ROOT="$dotnet_bin" \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 "$dotnet_bin/dotnet" exec \
    --runtimeconfig "$ORACLE_DIR/dn_name.runtimeconfig.json" "$ORACLE_DIR/dn_name.exe" "$@"
