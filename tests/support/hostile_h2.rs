//! HTTP/2 misbehaviour for `hostile.rs`: TLS listeners on 127.0.0.1 (self-signed, ALPN `h2`
//! only, so reqwest speaks HTTP/2) that read the client's preface and request, then break the
//! protocol in one way each. Frames are written by hand (RFC 9113 §4.1).

#![allow(dead_code)]

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpListener;
use tokio_rustls::server::TlsStream;
use url::Url;

use crate::support::{base, self_signed};

/// Frame types.
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;
/// Flags.
const ACK: u8 = 1;
const END_HEADERS: u8 = 4;
/// HPACK: `:status: 200` from the static table.
const STATUS_200: u8 = 0x88;
/// How long a connection is held open after misbehaving.
const HOLD: Duration = Duration::from_secs(120);

/// One way to break HTTP/2 after the client sent its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum H2 {
    /// GOAWAY with PROTOCOL_ERROR, last stream 0: the request was never processed.
    GoAway,
    /// RST_STREAM with INTERNAL_ERROR on the request's stream.
    Reset,
    /// Response headers and 7 bytes of DATA, then silence.
    Stall,
    /// A DATA frame header announcing 16 MiB (over the 16 KiB maximum frame size), then junk.
    OversizedFrame,
    /// HEADERS without END_HEADERS, then CONTINUATION frames of header fields without end.
    ContinuationFlood,
    /// SETTINGS frames without end, never reading the client's acknowledgements.
    SettingsFlood,
}

impl H2 {
    /// Every misbehaviour.
    pub const ALL: [H2; 6] = [
        H2::GoAway,
        H2::Reset,
        H2::Stall,
        H2::OversizedFrame,
        H2::ContinuationFlood,
        H2::SettingsFlood,
    ];
}

/// A frame: 24-bit length, type, flags, 31-bit stream id, payload.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1), first byte or-ed with `high`.
fn hpack_int(value: usize, n: u32, high: u8, out: &mut Vec<u8>) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(high | value as u8);
        return;
    }
    out.push(high | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// One literal header field without indexing, new name (RFC 7541 §6.2.2): `x-flood: aaa...`.
fn flood_field() -> Vec<u8> {
    let mut out = vec![0];
    hpack_int(7, 7, 0, &mut out);
    out.extend_from_slice(b"x-flood");
    hpack_int(16_000, 7, 0, &mut out);
    out.extend(std::iter::repeat_n(b'a', 16_000));
    out
}

/// Start one TLS listener per misbehaviour; returns their `https://127.0.0.1:PORT/` URLs.
pub async fn serve_all() -> Vec<(H2, Url)> {
    let acceptor = self_signed(2035, 1, 1).acceptor(&[b"h2"]);
    let mut urls = Vec::new();
    for which in H2::ALL {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        misbehave(which, tls).await;
                    }
                });
            }
        });
        urls.push((which, base(addr, "https").join("/").unwrap()));
    }
    urls
}

/// Read one frame: (type, flags, stream id); the payload is discarded.
async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Option<(u8, u8, u32)> {
    let mut header = [0u8; 9];
    r.read_exact(&mut header).await.ok()?;
    let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await.ok()?;
    let stream = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
    Some((header[3], header[4], stream))
}

/// Read the preface and frames up to the request's HEADERS, acknowledging the client's
/// SETTINGS; returns the request's stream id.
async fn read_request(
    r: &mut ReadHalf<TlsStream<tokio::net::TcpStream>>,
    w: &mut WriteHalf<TlsStream<tokio::net::TcpStream>>,
) -> Option<u32> {
    let mut preface = [0u8; 24];
    r.read_exact(&mut preface).await.ok()?;
    w.write_all(&frame(SETTINGS, 0, 0, &[])).await.ok()?;
    loop {
        let (kind, flags, stream) = read_frame(r).await?;
        if kind == SETTINGS && flags & ACK == 0 {
            w.write_all(&frame(SETTINGS, ACK, 0, &[])).await.ok()?;
        }
        if kind == HEADERS {
            return Some(stream);
        }
    }
}

/// Read frames up to the next request's HEADERS; returns its stream id.
async fn next_request<R: AsyncRead + Unpin>(r: &mut R) -> Option<u32> {
    loop {
        let (kind, _, stream) = read_frame(r).await?;
        if kind == HEADERS {
            return Some(stream);
        }
    }
}

/// Serve one connection the `which` way. A reset or a stall is done to every request on the
/// connection (a client may send more on the same one); the other ways end the connection.
async fn misbehave(which: H2, tls: TlsStream<tokio::net::TcpStream>) {
    let (mut r, mut w) = tokio::io::split(tls);
    let Some(mut stream) = read_request(&mut r, &mut w).await else {
        return;
    };
    match which {
        H2::Reset | H2::Stall => loop {
            let out = if which == H2::Reset {
                let code = 2u32.to_be_bytes(); // INTERNAL_ERROR
                frame(RST_STREAM, 0, stream, &code)
            } else {
                let mut out = frame(HEADERS, END_HEADERS, stream, &[STATUS_200]);
                out.extend(frame(DATA, 0, stream, b"partial"));
                out
            };
            if w.write_all(&out).await.is_err() {
                return;
            }
            match next_request(&mut r).await {
                Some(next) => stream = next,
                None => return,
            }
        },
        H2::GoAway => {
            let mut payload = 0u32.to_be_bytes().to_vec();
            payload.extend_from_slice(&1u32.to_be_bytes()); // PROTOCOL_ERROR
            payload.extend_from_slice(b"hostile goodbye");
            let _ = w.write_all(&frame(GOAWAY, 0, 0, &payload)).await;
        }
        H2::OversizedFrame => {
            let mut out = frame(HEADERS, END_HEADERS, stream, &[STATUS_200]);
            out.extend_from_slice(&[0xff, 0xff, 0xff, DATA, 0]);
            out.extend_from_slice(&stream.to_be_bytes());
            out.extend_from_slice(&[0xa5; 4096]);
            let _ = w.write_all(&out).await;
        }
        H2::ContinuationFlood => {
            let _ = w.write_all(&frame(HEADERS, 0, stream, &[STATUS_200])).await;
            let continuation = frame(CONTINUATION, 0, stream, &flood_field());
            // Up to 1 GB of header fields, as long as the client reads.
            for _ in 0..60_000 {
                if w.write_all(&continuation).await.is_err() {
                    return;
                }
            }
        }
        H2::SettingsFlood => {
            // SETTINGS_HEADER_TABLE_SIZE = 4096, again and again; the client's acks are never
            // read.
            let one = frame(SETTINGS, 0, 0, &[0, 1, 0, 0, 0x10, 0]);
            for _ in 0..1_000_000 {
                if w.write_all(&one).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = w.flush().await;
    // Hold the connection, reading what comes (the settings flood never gets here).
    let _ = tokio::time::timeout(HOLD, async { while read_frame(&mut r).await.is_some() {} }).await;
}
