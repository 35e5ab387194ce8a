#!/usr/bin/env bash
# A real .NET (Core 3.1 on Linux: the runtime family a self-hosted gateway runs) as an oracle.
#
#   scripts/dotnet-oracle.sh CERT.der...       X500DistinguishedName.Name of Subject and Issuer,
#                                              and SerialNumber, or LOADFAIL (one line per file;
#                                              answers recorded in tests/integration/cert_dotnet.rs)
#   scripts/dotnet-oracle.sh --policy DIR      policy expressions: DIR/cases.txt names each case's
#                                              context and C# (see scripts/dotnet-oracle/PolicyOracle.cs);
#                                              prints "<n>\t<answer>" per case (tests/integration/dotnet_oracle.rs)
#   scripts/dotnet-oracle.sh --setup           install the runtime only (.ci/run)
#   scripts/dotnet-oracle.sh --check           exit 0 when the runtime and mcs are present, else 1
#
# Setup (once, into $ORACLE_DIR): the PyPI wheel dotnetcore2 3.1.23 carries the runtime; .NET Core
# 3.1 needs OpenSSL 1.1, which Debian 12 lacks, so libssl/libcrypto 1.1 come from the
# psycopg2-binary manylinux wheel (2.9.5: the oldest this index offers that bundles 1.1.1). The
# C# programs are compiled with Debian's mono-mcs against the runtime's own assemblies.
#
# --policy: the expressions are wrapped, one static method each, into DIR/Cases.cs and compiled
# with PolicyOracle.cs in one mcs run. A case that does not compile is reported as
# "compile:CSnnnn" and the rest compiled again (more mcs runs only then, at most four). The
# program runs with HOME=DIR/home (so .NET's CRL cache starts empty), LANG=en_US.UTF-8, and SSL_CERT_FILE /
# SSL_CERT_DIR as the caller sets them (the trust store X509Certificate2.Verify() uses on Linux).
set -euo pipefail

ORACLE_DIR=${ORACLE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mtls-doctor/dotnet-oracle}
HERE=$(cd "$(dirname "$0")" && pwd)
VERSION=3.1.23
REF="$ORACLE_DIR/dn/dotnetcore2/bin/shared/Microsoft.NETCore.App/$VERSION"
DOTNET_BIN="$ORACLE_DIR/dn/dotnetcore2/bin"
[ $# -gt 0 ] || { echo "usage: $0 CERT.der... | --policy DIR | --setup | --check" >&2; exit 2; }

present() {
    command -v mcs >/dev/null && [ -x "$DOTNET_BIN/dotnet" ] && [ -f "$ORACLE_DIR/ssl/libssl.so.1.1" ]
}

setup_runtime() {
    command -v mcs >/dev/null || { echo "needs mcs: apt-get install -y mono-mcs" >&2; exit 1; }
    mkdir -p "$ORACLE_DIR/wheels" "$ORACLE_DIR/dn" "$ORACLE_DIR/pg" "$ORACLE_DIR/ssl"
    cd "$ORACLE_DIR"
    ls wheels/dotnetcore2-$VERSION-*.whl >/dev/null 2>&1 ||
        python3 -m pip download --quiet --no-deps dotnetcore2==$VERSION -d wheels
    ls wheels/psycopg2_binary-2.9.5-*.whl >/dev/null 2>&1 ||
        python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
            --python-version 3.11 psycopg2-binary==2.9.5 -d wheels
    (cd dn && unzip -qo ../wheels/dotnetcore2-*.whl)
    (cd pg && unzip -qo ../wheels/psycopg2_binary-*.whl)
    cp pg/psycopg2_binary.libs/libssl-*.so.1.1 pg/psycopg2_binary.libs/libcrypto-*.so.1.1 ssl/
    (cd ssl && ln -sf libssl-*.so.1.1 libssl.so.1.1 && ln -sf libcrypto-*.so.1.1 libcrypto.so.1.1)
}

refs() {
    for a in System.Runtime System.Console System.Security.Cryptography.X509Certificates \
        System.Security.Cryptography.Encoding System.Security.Cryptography.Primitives System.IO.FileSystem \
        System.Runtime.Extensions System.Collections System.Linq System.Private.CoreLib; do
        printf -- '-r:%s/%s.dll\n' "$REF" "$a"
    done
}

runtimeconfig() {
    echo "{\"runtimeOptions\":{\"tfm\":\"netcoreapp3.1\",\"framework\":{\"name\":\"Microsoft.NETCore.App\",\"version\":\"$VERSION\"}}}" >"$1"
}

setup_dn() {
    cd "$ORACLE_DIR"
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
    mapfile -t r < <(refs)
    mcs -nostdlib -noconfig "${r[@]}" -out:dn_name.exe dn_name.cs
    runtimeconfig dn_name.runtimeconfig.json
}

run_dotnet() {
    local icu
    icu=$(ls /usr/lib/x86_64-linux-gnu/libicuuc.so.* 2>/dev/null | sed -n 's/.*libicuuc\.so\.\([0-9]*\)$/\1/p' | head -1)
    env -u LC_ALL -u LC_MESSAGES LD_LIBRARY_PATH="$ORACLE_DIR/ssl" CLR_ICU_VERSION_OVERRIDE="${icu:-72}" DOTNET_ROOT="$DOTNET_BIN" \
        DOTNET_CLI_TELEMETRY_OPTOUT=1 "$DOTNET_BIN/dotnet" exec "$@"
}

# Cases.cs from cases.txt: case n's method on line n+LINE0; the cases listed in $1 (one
# "n CSnnnn" per line) are replaced by their compile error.
LINE0=11
generate() {
    local dir=$1 failed=$2 n=-1 line body
    local -A err=()
    while read -r k code; do [ -n "$k" ] && err[$k]=$code; done <<<"$failed"
    {
        printf '%s\n' 'using System;' 'using System.Collections.Generic;' 'using System.Globalization;' \
            'using System.Linq;' 'using System.Security.Cryptography;' 'using System.Security.Cryptography.X509Certificates;' \
            'using System.Text;' \
            '#pragma warning disable 0162, 0168, 0219, 1717' '// generated by scripts/dotnet-oracle.sh from cases.txt' \
            'public static class Cases {'
        while IFS= read -r line; do
            case "$line" in
                "expr "*) n=$((n + 1)); body="return (object)(${line#expr });" ;;
                "block "*) n=$((n + 1)); body="${line#block }" ;;
                *) continue ;;
            esac
            [ -n "${err[$n]:-}" ] && body="return null;"
            printf '    static object C%d(Context context) { %s }\n' "$n" "$body"
        done <"$dir/cases.txt"
        printf '    public static readonly Func<Context, object>[] All = {'
        for ((i = 0; i <= n; i++)); do printf ' C%d,' "$i"; done
        printf ' };\n    public static readonly string[] CompileErrors = {'
        for ((i = 0; i <= n; i++)); do
            if [ -n "${err[$i]:-}" ]; then printf ' "%s",' "${err[$i]}"; else printf ' null,'; fi
        done
        printf ' };\n}\n'
    } >"$dir/Cases.cs"
}

policy() {
    local dir
    dir=$(cd "$1" && pwd)
    mapfile -t r < <(refs)
    local compile=(mcs -nostdlib -noconfig -langversion:7 "${r[@]}" -out:"$dir/oracle.exe"
        "$HERE/dotnet-oracle/PolicyOracle.cs" "$dir/Cases.cs")
    local out failed="" more round
    # mcs stops after syntax errors before it reports type errors: each round takes the cases that
    # failed out, at most three rounds (one when every case compiles).
    for round in 1 2 3 4; do
        generate "$dir" "$failed"
        out=$("${compile[@]}" 2>&1) && break
        # Cases.cs(LINE,COL): error CSnnnn: … -> "n CSnnnn", first error per case.
        more=$(printf '%s\n' "$out" | sed -n 's/.*Cases\.cs(\([0-9]*\),[0-9]*): error \(CS[0-9]*\).*/\1 \2/p' |
            awk -v l0=$LINE0 '!seen[$1 - l0]++ { print $1 - l0, $2 }')
        if [ -z "$more" ] || [ "$round" = 4 ]; then printf '%s\n' "$out" >&2; exit 1; fi
        failed=$(printf '%s\n%s\n' "$failed" "$more")
    done
    runtimeconfig "$dir/oracle.runtimeconfig.json"
    mkdir -p "$dir/home"
    HOME="$dir/home" LANG=en_US.UTF-8 run_dotnet --runtimeconfig "$dir/oracle.runtimeconfig.json" \
        "$dir/oracle.exe" "$dir"
}

case "$1" in
    --check) present ;;
    --setup)
        present || (setup_runtime)
        [ -f "$ORACLE_DIR/dn_name.exe" ] || (setup_dn)
        ;;
    --policy)
        [ $# -eq 2 ] || { echo "usage: $0 --policy DIR" >&2; exit 2; }
        present || (setup_runtime)
        policy "$2"
        ;;
    *)
        present || (setup_runtime)
        [ -f "$ORACLE_DIR/dn_name.exe" ] || (setup_dn)
        run_dotnet --runtimeconfig "$ORACLE_DIR/dn_name.runtimeconfig.json" "$ORACLE_DIR/dn_name.exe" "$@"
        ;;
esac
