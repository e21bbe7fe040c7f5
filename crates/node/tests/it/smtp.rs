//! An SMTP server for tests: Python's `aiosmtpd` on loopback (plain, or STARTTLS with a login),
//! writing each message it accepts as a JSON line.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// An `aiosmtpd` server on loopback writing each message it accepts as a JSON line.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    out: PathBuf,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SINK: &str = r#"
import json, ssl, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

port, out, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

class Sink:
    async def handle_DATA(self, server, session, envelope):
        with open(out, "a") as f:
            f.write(json.dumps({
                "from": envelope.mail_from, "to": envelope.rcpt_tos,
                "data": envelope.content.decode("utf8", "replace"),
                "tls": session.ssl is not None,
            }) + "\n")
        return "250 OK"

def login(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=auth_data.login == b"alerts" and auth_data.password == b"smtp-pw")

kwargs = {}
if cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    kwargs = dict(tls_context=ctx, require_starttls=True, authenticator=login, auth_required=True)
c = Controller(Sink(), hostname="127.0.0.1", port=port, **kwargs)
c.start()
print("ready", flush=True)
sys.stdin.read()
"#;

pub fn smtp_sink(dir: &Path, tls: Option<(&Path, &Path)>) -> Option<SmtpSink> {
    let python = crate::harness::python()?;
    let port = crate::harness::free_port();
    let out = dir.join(format!("mail-{port}.jsonl"));
    let (cert, key) = tls.map_or((String::new(), String::new()), |(c, k)| {
        (c.display().to_string(), k.display().to_string())
    });
    let mut child = Command::new(python)
        .args(["-c", SINK, &port.to_string(), &out.display().to_string(), &cert, &key])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready", "aiosmtpd did not start");
    Some(SmtpSink { child, port, out })
}

pub fn mails(sink: &SmtpSink) -> Vec<serde_json::Value> {
    std::fs::read_to_string(&sink.out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
