//! `probe --data`: the body reaches a real HTTP server (Python's http.server over ssl, which parses
//! the request itself) the way curl's `-d` sends it — method, Content-Type, Content-Length and bytes
//! — and the body never appears in the report, the session or an echo of it; replay asks for it.

use std::process::{Command, Stdio};

use mtls_doctor::pki::{Issued, Spec};
use serde_json::Value;

use crate::peers::{free_port, wait_for_port, Peer};
use crate::util::{bin, run, stderr, stdout, Dir};

/// Records every request as one JSON line (method, path, lowercased headers, body as text) and
/// answers 200 with the body echoed back.
const ECHO_SERVER: &str = r#"
import json, ssl, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        rec = {"method": self.command, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body.decode("utf-8", "replace")}
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        out = b"echo:" + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = do_PUT = do_PATCH = handle_any
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if len(sys.argv) > 5:
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(sys.argv[5])
srv = ThreadingHTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
"#;

struct Echo {
    _peer: Peer,
    port: u16,
    dir: Dir,
}

impl Echo {
    fn start() -> Echo {
        Echo::start_with(None)
    }

    /// With a client CA: the server asks for a client certificate (optional) in the handshake.
    fn start_with(client_ca: Option<&Issued>) -> Echo {
        let dir = Dir::new();
        let root = Issued::self_signed(&Spec::ca("Body Test Root")).expect("root");
        let server = root.issue(&Spec::leaf("localhost").sans(&["localhost"]).server_only()).expect("server");
        dir.write("root.pem", root.cert_pem());
        let (cert, key) = dir.write_issued("server", &server);
        let script = dir.write("echo.py", ECHO_SERVER);
        let port = free_port();
        let mut cmd = Command::new("python3");
        cmd.arg(&script).arg(port.to_string()).arg(&cert).arg(&key).arg(dir.path("requests.jsonl"));
        if let Some(ca) = client_ca {
            cmd.arg(dir.write("client-ca.pem", ca.cert_pem()));
        }
        let mut child =
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start python3");
        wait_for_port(port, &mut child, "python echo server");
        Echo { _peer: Peer { child, port, name: "python echo server" }, port, dir }
    }

    /// The requests recorded so far, and forget them.
    fn take(&self) -> Vec<Value> {
        let path = self.dir.path("requests.jsonl");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        text.lines().map(|l| serde_json::from_str(l).expect("request record")).collect()
    }

    fn url(&self) -> String {
        format!("https://localhost:{}/echo", self.port)
    }

    fn probe(&self, extra: &[&str]) -> std::process::Output {
        let connect = format!("127.0.0.1:{}", self.port);
        run(bin()
            .arg("probe")
            .arg(self.url())
            .args(["--connect-to", &connect, "--no-compare", "--timeout", "20", "--ca"])
            .arg(self.dir.path("root.pem"))
            .args(extra))
    }

    fn curl(&self, extra: &[&str]) {
        let o = run(Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "--max-time", "20", "--cacert"])
            .arg(self.dir.path("root.pem"))
            .arg("--connect-to")
            .arg(format!("localhost:{}:127.0.0.1:{}", self.port, self.port))
            .arg(self.url())
            .args(extra));
        assert!(o.status.success(), "curl: {}", stderr(&o));
    }
}

/// The parts of a recorded request curl and the probe must agree on.
fn shape(r: &Value) -> (String, String, String, String) {
    let h = |n: &str| r["headers"][n].as_str().unwrap_or("").to_string();
    (
        r["method"].as_str().unwrap_or("").into(),
        h("content-type"),
        h("content-length"),
        r["body"].as_str().unwrap_or("").into(),
    )
}

/// `doc` matches docs/report-schema.json (a report or a session).
fn schema_valid(doc: &Value, what: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("schema is JSON");
    let v = jsonschema::draft202012::new(&schema).expect("valid JSON Schema");
    let errors: Vec<String> = v.iter_errors(doc).take(5).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "the {what} does not match the schema: {errors:#?}");
}

const SECRET_BODY: &str = "user=alice&password=hunter2-in-the-body";

#[test]
fn data_is_sent_as_curl_sends_it_and_never_recorded() {
    let echo = Echo::start();
    let dir = Dir::new();
    let session = dir.path("s.json");

    // Text: POST, form Content-Type, Content-Length, the bytes.
    let o = echo.probe(&["-d", SECRET_BODY, "--report", "json", "--save", session.to_str().expect("path")]);
    let ours = echo.take();
    echo.curl(&["-d", SECRET_BODY]);
    let curls = echo.take();
    assert_eq!(ours.len(), 1, "sent once: {ours:?}\n{}", stderr(&o));
    assert_eq!(shape(&ours[0]), shape(&curls[0]), "as curl -d");
    assert_eq!(
        shape(&ours[0]),
        ("POST".into(), "application/x-www-form-urlencoded".into(), SECRET_BODY.len().to_string(), SECRET_BODY.into())
    );
    let report = stdout(&o);
    let saved = std::fs::read_to_string(&session).expect("session");
    for (what, text) in [("report", &report), ("session", &saved), ("stderr", &stderr(&o))] {
        assert!(!text.contains("hunter2"), "{what} shows the body:\n{text}");
    }
    // The echo comes back redacted; the session keeps the length and SHA-256.
    assert!(report.contains("echo:[redacted]"), "{report}");
    let s: Value = serde_json::from_str(&saved).expect("session json");
    let body = &s["targets"][0]["options"]["body"];
    assert_eq!(body["length"], SECRET_BODY.len(), "{body}");
    assert_eq!(body["sha256"].as_str().map(str::len), Some(64), "{body}");
    let r: Value = serde_json::from_str(&report).expect("report json");
    assert_eq!(r["probes"][0]["http"]["request"]["body"], *body, "the report records the same");
    schema_valid(&r, "report");
    schema_valid(&s, "session");

    // Replay without --data: one line, and the request is not sent.
    let o = run(bin().arg("replay").arg(&session).args(["--report", "json"]));
    let err = stderr(&o);
    assert!(err.contains("give it again with --data") && err.contains("request body"), "{err}");
    assert!(echo.take().is_empty(), "replay without --data sent a request");
    assert!(!stdout(&o).contains("hunter2"));
    // With --data it is sent again, once.
    let o = run(bin().arg("replay").arg(&session).args(["-d", SECRET_BODY, "--report", "json"]));
    let again = echo.take();
    assert_eq!(again.len(), 1, "{}", stderr(&o));
    assert_eq!(shape(&again[0]), shape(&ours[0]));
}

#[test]
fn data_from_a_file_with_a_method_and_a_content_type_of_its_own() {
    let echo = Echo::start();
    let dir = Dir::new();
    let file = dir.write("body.json", "{\"role\":\"admin\"}\n");
    let at = format!("@{}", file.display());
    let args = ["-X", "PUT", "-H", "Content-Type: application/json", "-d", &at];
    let o = echo.probe(&["--method", "PUT", "-H", "Content-Type: application/json", "-d", &at]);
    let ours = echo.take();
    assert_eq!(ours.len(), 1, "{}", stderr(&o));
    // curl's -d drops the file's newlines; --data-binary sends it as it is, which is what --data @FILE does.
    let curl_args = args.map(|a| if a == "-d" { "--data-binary" } else { a });
    echo.curl(&curl_args);
    let curls = echo.take();
    assert_eq!(shape(&ours[0]), shape(&curls[0]));
    assert_eq!(shape(&ours[0]).0, "PUT");
    assert_eq!(shape(&ours[0]).1, "application/json");
    assert_eq!(shape(&ours[0]).3, "{\"role\":\"admin\"}\n");

    // A file that is not there: one line naming it, exit 2, nothing sent.
    let missing = dir.path("missing.json");
    let o = echo.probe(&["-d", &format!("@{}", missing.display())]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("missing.json") && err.trim().lines().count() == 1, "{err}");
    assert!(echo.take().is_empty());
}

#[test]
fn the_policy_reads_the_body_the_probe_sent() {
    let echo = Echo::start();
    let dir = Dir::new();
    let policy = dir.write(
        "policy.xml",
        r#"<policies><inbound><base /><choose>
  <when condition="@(context.Request.Body.As&lt;JObject&gt;(preserveContent: true)[&quot;role&quot;]?.ToString() != &quot;admin&quot;)">
    <return-response><set-status code="403" reason="Forbidden" /></return-response>
  </when></choose></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"#,
    );
    let policy = policy.to_str().expect("path");
    let status = |extra: &[&str]| -> (Value, String) {
        let mut args = vec!["--policy", policy, "--report", "json"];
        args.extend_from_slice(extra);
        let o = echo.probe(&args);
        let r: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
        (r["evaluations"][0]["policy"]["outcome"].clone(), stdout(&o))
    };
    let json = ["-H", "Content-Type: application/json", "-d"];
    let (admin, _) = status(&[json.as_slice(), &[r#"{"role":"admin"}"#]].concat());
    assert_eq!((admin["status"].as_u64(), admin["determined"].as_bool()), (Some(200), Some(true)), "{admin}");
    let (reader, text) = status(&[json.as_slice(), &[r#"{"role":"reader"}"#]].concat());
    assert_eq!((reader["status"].as_u64(), reader["determined"].as_bool()), (Some(403), Some(true)), "{reader}");
    assert!(!text.contains(r#"{"role":"reader"}"#) && !text.contains(r#"{\"role\":\"reader\"}"#), "{text}");
    // A replay without --data: the body is not known there.
    let session = dir.path("s.json");
    status(&[json.as_slice(), &[r#"{"role":"reader"}"#, "--save", session.to_str().expect("path")]].concat());
    let o = run(bin().arg("replay").arg(&session).args(["--report", "json"]));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let replayed = &r["evaluations"][0]["policy"]["outcome"];
    assert_eq!(replayed["determined"].as_bool(), Some(false), "{replayed}");
    let why = replayed["unevaluable"][0]["why"].as_str().unwrap_or("");
    assert!(why.contains("request body is not known here"), "{replayed}");
    // No --data: the probe sent no body, and what the gateway then gives is not documented.
    let (none, _) = status(&[]);
    assert_eq!(none["determined"].as_bool(), Some(false), "{none}");
    assert!(none["unevaluable"][0]["why"].as_str().unwrap_or("").contains("has no body"), "{none}");
    echo.take();
}

#[test]
fn targets_files_carry_data_with_paths_relative_to_the_file() {
    use mtls_doctor::targets::{targets_from_file, TargetDefaults};
    let dir = Dir::new();
    dir.write("login.json", "{\"user\":\"svc\"}");
    let file = dir.write(
        "t.toml",
        "[[target]]\nhost = \"a.local\"\ndata = \"@login.json\"\nheaders = [\"Content-Type: application/json\"]\n\n\
         [[target]]\nhost = \"b.local\"\ndata = \"k=v\"\nmethod = \"PUT\"\n\n\
         [[target]]\nhost = \"c.local\"\n",
    );
    let runs = targets_from_file(&file, &TargetDefaults::default()).expect("targets");
    let o: Vec<_> = runs.iter().map(|r| r.options.clone().expect("options")).collect();
    assert_eq!(o[0].method, "POST");
    assert_eq!(o[0].body.as_ref().and_then(|b| b.bytes()), Some(&b"{\"user\":\"svc\"}"[..]));
    let types = |i: usize| -> Vec<String> {
        o[i].headers.iter().filter(|h| h.name.eq_ignore_ascii_case("content-type")).map(|h| h.value.clone()).collect()
    };
    assert_eq!(types(0), ["application/json"]);
    assert_eq!((o[1].method.as_str(), o[1].body.as_ref().map(|b| b.len())), ("PUT", Some(3)));
    assert_eq!(types(1), ["application/x-www-form-urlencoded"]);
    assert_eq!((o[2].method.as_str(), o[2].body.is_none()), ("GET", true));
    // A body file that is not there names it.
    let bad = dir.write("bad.toml", "[[target]]\nhost = \"a.local\"\ndata = \"@gone.json\"\n");
    let e = targets_from_file(&bad, &TargetDefaults::default()).expect_err("missing body file").to_string();
    assert!(e.contains("gone.json") && !e.contains('\n'), "{e}");
}

#[test]
fn a_request_with_a_body_is_sent_once_even_when_compared_without_the_certificate() {
    let client_root = Issued::self_signed(&Spec::ca("Body Client Root")).expect("client root");
    let client = client_root.issue(&Spec::leaf("body-client")).expect("client");
    let echo = Echo::start_with(Some(&client_root));
    let dir = Dir::new();
    let (cert, key) = dir.write_issued("client", &client);
    let connect = format!("127.0.0.1:{}", echo.port);
    let probe = |extra: &[&str]| {
        run(bin()
            .arg("probe")
            .arg(echo.url())
            .args(["--connect-to", &connect, "--timeout", "20", "--report", "json", "--ca"])
            .arg(echo.dir.path("root.pem"))
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .args(extra))
    };
    // Without a body the comparison sends its own request: two in all.
    let o = probe(&[]);
    assert_eq!(echo.take().len(), 2, "GET and the comparison's GET: {}", stderr(&o));
    // With one, the comparison stops after its handshake: the body is sent once.
    let o = probe(&["-d", SECRET_BODY]);
    let sent = echo.take();
    assert_eq!(sent.len(), 1, "{sent:?}\n{}", stderr(&o));
    assert_eq!(shape(&sent[0]).3, SECRET_BODY);
    let r: Value = serde_json::from_str(&stdout(&o)).expect("report");
    let without = &r["probes"][0]["compare_without_cert"];
    assert_eq!(without["client_cert_sent"].as_bool(), Some(false), "the comparison ran: {without}");
    assert!(without["http"].is_null(), "the comparison made no request: {without}");
    assert_eq!(r["probes"][0]["client_cert_sent"].as_bool(), Some(true));
}
