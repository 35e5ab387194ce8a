//! The sweep's progress line: on a terminal it is drawn on standard error (done/total, rate, ETA,
//! the count of targets with error findings); the report on standard output or in `-o FILE` is
//! byte for byte what a run without a terminal writes; `--quiet` draws nothing.
//!
//! The sweep's three targets fail the same way every run, so the reports can be compared byte for
//! byte: two names looked up through a DNS server on 127.0.0.1 that never answers (one second each,
//! one at a time, so the line has time to be drawn) and a refused port.

use std::net::{TcpListener, UdpSocket};
use std::process::Command;

use crate::util::{run, stderr, Dir};

/// Runs the program with standard error on a pseudo-terminal (python3's pty) and standard output
/// into `out`; what the terminal received goes into `tty`. The child is killed after 60 s.
fn on_a_pty(dir: &Dir, out: &std::path::Path, tty: &std::path::Path, args: &[String]) -> i32 {
    let helper = dir.write(
        "stderr_on_pty.py",
        "import os, pty, select, subprocess, sys, time\n\
         master, slave = pty.openpty()\n\
         env = dict(os.environ, TERM='xterm')\n\
         with open(sys.argv[1], 'wb') as out:\n\
         \x20   p = subprocess.Popen(sys.argv[3:], stdin=subprocess.DEVNULL, stdout=out, stderr=slave, env=env)\n\
         os.close(slave)\n\
         seen, end = b'', time.time() + 60\n\
         while time.time() < end:\n\
         \x20   r, _, _ = select.select([master], [], [], 0.2)\n\
         \x20   if r:\n\
         \x20       try:\n            data = os.read(master, 4096)\n        except OSError:\n            data = b''\n\
         \x20       if data:\n            seen += data\n            continue\n\
         \x20   if p.poll() is not None:\n        break\n\
         if p.poll() is None:\n    p.kill()\n\
         code = p.wait()\n\
         open(sys.argv[2], 'wb').write(seen)\n\
         sys.exit(code)\n",
    );
    let o =
        run(Command::new("python3").arg(&helper).arg(out).arg(tty).arg(env!("CARGO_BIN_EXE_mtls-doctor")).args(args));
    assert!(stderr(&o).is_empty(), "the helper: {}", stderr(&o));
    o.status.code().expect("exit code")
}

fn sweep_args(dns: u16, refused: u16, extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = ["probe", "a.test", "b.test"].iter().map(|s| s.to_string()).collect();
    args.push(format!("127.0.0.1:{refused}"));
    args.extend(["-j", "1", "--timeout", "1", "--no-compare", "--dns-server"].iter().map(|s| s.to_string()));
    args.push(format!("127.0.0.1:{dns}"));
    args.extend(extra.iter().cloned());
    args
}

/// `--report text -o DIR/NAME`.
fn to_file(dir: &Dir, name: &str) -> Vec<String> {
    vec!["--report".into(), "text".into(), "-o".into(), dir.path(name).display().to_string()]
}

#[test]
fn progress_goes_to_the_terminal_and_never_into_the_report() {
    let dir = Dir::new();
    // A DNS server that never answers (UDP and TCP on one port), and a port nothing listens on.
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let dns = udp.local_addr().expect("addr").port();
    let _tcp = TcpListener::bind(("127.0.0.1", dns)).ok();
    let refused = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();

    for file in [false, true] {
        let extra = if file { to_file(&dir, "plain.txt") } else { vec![] };
        let args = sweep_args(dns, refused, &extra);
        let plain = run(Command::new(env!("CARGO_BIN_EXE_mtls-doctor")).args(&args));
        assert_eq!(plain.status.code(), Some(1), "error findings: exit 1; {}", stderr(&plain));
        assert!(plain.stderr.is_empty(), "no terminal, no progress: {}", stderr(&plain));

        let (out, tty) = (dir.path("out.bin"), dir.path("tty.bin"));
        let extra = if file { to_file(&dir, "tty.txt") } else { vec![] };
        let args = sweep_args(dns, refused, &extra);
        assert_eq!(on_a_pty(&dir, &out, &tty, &args), 1);
        let seen = String::from_utf8_lossy(&std::fs::read(&tty).expect("tty bytes")).into_owned();
        assert!(seen.contains("/3 targets"), "the line shows done/total: {seen:?}");
        assert!(seen.contains("/s") && seen.contains("ETA"), "rate and time left: {seen:?}");
        assert!(seen.contains("with errors"), "the count of targets with error findings: {seen:?}");
        let (plain_data, tty_data) = if file {
            (
                std::fs::read(dir.path("plain.txt")).expect("plain -o"),
                std::fs::read(dir.path("tty.txt")).expect("tty -o"),
            )
        } else {
            (plain.stdout.clone(), std::fs::read(&out).expect("tty stdout"))
        };
        assert!(!plain_data.is_empty());
        assert!(plain_data == tty_data, "the report is the same bytes with the progress line on a terminal");
        if file {
            assert!(std::fs::read(&out).expect("stdout").is_empty(), "-o FILE: nothing on stdout");
        }
    }

    // --quiet: nothing on the terminal at all.
    let (out, tty) = (dir.path("q-out.bin"), dir.path("q-tty.bin"));
    assert_eq!(on_a_pty(&dir, &out, &tty, &sweep_args(dns, refused, &["--quiet".to_string()])), 1);
    let seen = std::fs::read(&tty).expect("tty bytes");
    assert!(seen.is_empty(), "--quiet draws nothing: {:?}", String::from_utf8_lossy(&seen));
    drop(udp);
}
