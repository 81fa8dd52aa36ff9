//! How connections are served: a client that trickles its headers in is cut off, and one
//! address holds only so many connections at once. Raw TCP, since HTTP clients are too polite.

use std::time::Duration;

use clientele_server::HttpOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::TestApp;

/// Only for a broken server: a check that passes never waits this long.
const SAFETY_NET: Duration = Duration::from_secs(60);

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes (or resets) the connection; what it sent meanwhile.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let closed = tokio::time::timeout(SAFETY_NET, async {
        let mut buffer = [0_u8; 4096];
        while let Ok(n @ 1..) = stream.read(&mut buffer).await {
            received.extend_from_slice(&buffer[..n]);
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the connection open");
    received
}

/// Sends `request` and reads one whole answer (head and body); empty when the server closed
/// the connection instead of answering.
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> String {
    if stream.write_all(request).await.is_err() {
        return String::new();
    }
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    let answered = tokio::time::timeout(SAFETY_NET, async {
        loop {
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return text;
                }
            }
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return String::from_utf8_lossy(&received).into_owned(),
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    answered.expect("the server neither answered nor closed the connection")
}

#[tokio::test]
async fn a_connection_that_sends_half_a_header_is_closed_after_the_header_timeout() {
    // Short, because this test is the slow client.
    let http = HttpOptions { header_read_timeout: Duration::from_millis(300), ..HttpOptions::default() };
    let app = TestApp::sqlite_with_http(http).await;
    let mut slow = connect(&app).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: te").await.unwrap();
    let answer = String::from_utf8_lossy(&until_closed(&mut slow).await).into_owned();
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    // A client that connects and sends nothing is let go the same way.
    let mut silent = connect(&app).await;
    until_closed(&mut silent).await;
    // A client that sends its request in time is served, and may keep its connection for more.
    let mut prompt = connect(&app).await;
    assert!(exchange(&mut prompt, HEALTHZ).await.starts_with("HTTP/1.1 200"));
    assert!(exchange(&mut prompt, HEALTHZ).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn one_address_holds_at_most_the_configured_number_of_connections_at_once() {
    let app = TestApp::sqlite_with_http(HttpOptions { max_connections_per_ip: 3, ..HttpOptions::default() }).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut connection = connect(&app).await;
        assert!(exchange(&mut connection, HEALTHZ).await.starts_with("HTTP/1.1 200"));
        held.push(connection);
    }
    let mut fourth = connect(&app).await;
    let closing = b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    assert_eq!(exchange(&mut fourth, closing).await, "", "the fourth connection was served");
    // The three held are still served.
    assert!(exchange(&mut held[0], HEALTHZ).await.starts_with("HTTP/1.1 200"));
    // Once one of them closes, a new one gets in as soon as the server has seen the close.
    drop(held.pop());
    let mut tries = 0;
    loop {
        let mut next = connect(&app).await;
        if exchange(&mut next, closing).await.starts_with("HTTP/1.1 200") {
            break;
        }
        tries += 1;
        assert!(tries < 10_000, "no new connection was let in after one closed");
        tokio::task::yield_now().await;
    }
}
