//! A full paged sync of a TAXII collection over one keep-alive HTTP/1.1 connection, timing
//! the objects served per second. Usage: `bench_sync [PORT] [LIMIT]` (defaults 8731, 1000).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn get(conn: &mut BufReader<TcpStream>, path: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/taxii+json;version=2.1\r\n\r\n"
    );
    conn.get_mut().write_all(req.as_bytes())?;
    let mut length = None;
    let mut status = String::new();
    conn.read_line(&mut status)?;
    if !status.starts_with("HTTP/1.1 200") {
        return Err(format!("unexpected response: {status}").into());
    }
    loop {
        let mut line = String::new();
        conn.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = Some(v.trim().parse::<usize>()?);
        }
    }
    let mut body = vec![0; length.ok_or("no content-length")?];
    conn.read_exact(&mut body)?;
    Ok(body)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).map_or(Ok(8731), |s| s.parse())?;
    let limit: usize = args.get(2).map_or(Ok(1000), |s| s.parse())?;
    let mut conn = BufReader::new(TcpStream::connect(("127.0.0.1", port))?);
    let base = format!("/taxii2/vigil/collections/indicators/objects/?limit={limit}");
    let started = Instant::now();
    let (mut objects, mut pages, mut bytes) = (0usize, 0usize, 0usize);
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(n) => format!("{base}&next={n}"),
            None => base.clone(),
        };
        let body = get(&mut conn, &path)?;
        bytes += body.len();
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        objects += v["objects"].as_array().map_or(0, Vec::len);
        pages += 1;
        match v["next"].as_str() {
            Some(n) if v["more"] == true => next = Some(n.to_owned()),
            _ => break,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "synced {objects} objects in {pages} pages ({:.1} MB) in {secs:.3} s: {:.0} objects/s",
        bytes as f64 / 1e6,
        objects as f64 / secs
    );
    Ok(())
}
