//! Accepting and serving connections: HTTP/1.1 through hyper, with what `axum::serve` lacks. A
//! client must send its request line and headers within [`HttpOptions::header_read_timeout`] or
//! lose the connection (so slow clients cannot hold connections open, "slowloris"), and one
//! address may hold at most [`HttpOptions::max_connections_per_ip`] connections at once. On
//! shutdown, the listener closes, idle connections close, and the requests in flight finish.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::HttpOptions;

/// Serves `router` on `listener` until `shutdown` completes, then waits for the requests in
/// flight.
pub(crate) async fn serve_connections(
    listener: TcpListener,
    router: Router,
    http: &HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(http.header_read_timeout);
    let limits = PerAddress::new(http.max_connections_per_ip);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = limits.take(peer.ip()) else {
            // Closed unread: a client that opens connections without end gets nothing from them.
            tracing::debug!(%peer, "refused a connection: too many open from this address");
            continue;
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // Handlers and the audit log read the client's address from here, as with axum::serve.
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Header timeouts, resets and clients leaving mid-request end here: nothing to report.
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// What to do when accepting fails: a connection that failed before it was accepted is none of
/// ours; anything else (out of file descriptors, mostly) is logged, and accepting resumes after
/// a pause, rather than spinning, as `axum::serve` does.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Open connections per client address.
#[derive(Debug, Clone)]
struct PerAddress {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    fn new(max: usize) -> Self {
        Self { max, open: Arc::default() }
    }

    fn open(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Counts left by a panicking holder are still counts.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for one more connection from `address`, or `None` when it has its fill.
    fn take(&self, address: IpAddr) -> Option<Slot> {
        if self.max == 0 {
            return Some(Slot(None));
        }
        let mut open = self.open();
        let count = open.entry(address).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot(Some((self.clone(), address))))
    }
}

/// A connection's place in its address's count, given back when dropped.
struct Slot(Option<(PerAddress, IpAddr)>);

impl Drop for Slot {
    fn drop(&mut self) {
        let Some((limits, address)) = self.0.take() else { return };
        let mut open = limits.open();
        if let Some(count) = open.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_places_back_as_its_connections_close() {
        let limits = PerAddress::new(2);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let first = limits.take(a).unwrap();
        let _second = limits.take(a).unwrap();
        assert!(limits.take(a).is_none());
        assert!(limits.take(b).is_some(), "other addresses are not concerned");
        drop(first);
        assert!(limits.take(a).is_some());
        assert!(PerAddress::new(0).take(a).is_some(), "0 is no limit");
    }
}
