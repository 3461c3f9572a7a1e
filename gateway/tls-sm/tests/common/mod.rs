//! Shared helpers: an in-memory transport between two rustls connections.
#![allow(dead_code, clippy::unwrap_used, clippy::result_large_err)]

use std::io::{Read, Write};
use std::ops::{Deref, DerefMut};

use rustls::{ConnectionCommon, SideData};

/// Which end reported the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// Moves all pending TLS bytes from `from` into `to` and processes them.
fn transfer<A, B, SA, SB>(from: &mut A, to: &mut B) -> Result<usize, rustls::Error>
where
    A: DerefMut + Deref<Target = ConnectionCommon<SA>>,
    B: DerefMut + Deref<Target = ConnectionCommon<SB>>,
    SA: SideData,
    SB: SideData,
{
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf).unwrap();
    }
    let mut rd = &buf[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).unwrap();
        to.process_new_packets()?;
    }
    Ok(buf.len())
}

/// Runs the handshake to completion; on failure returns the side that failed
/// first and its error, plus the other side's error after it has seen any
/// alert (None if it saw nothing wrong).
pub fn handshake(
    client: &mut rustls::ClientConnection,
    server: &mut rustls::ServerConnection,
) -> Result<(), (Side, rustls::Error, Option<rustls::Error>)> {
    for _ in 0..16 {
        let c2s = match transfer(client, server) {
            Ok(n) => n,
            Err(e) => {
                let peer = transfer(server, client).err();
                return Err((Side::Server, e, peer));
            }
        };
        let s2c = match transfer(server, client) {
            Ok(n) => n,
            Err(e) => {
                let peer = transfer(client, server).err();
                return Err((Side::Client, e, peer));
            }
        };
        if c2s == 0 && s2c == 0 && !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
    }
    panic!("handshake did not converge");
}

/// Sends `data` from client to server and back, checking both directions.
pub fn exchange(client: &mut rustls::ClientConnection, server: &mut rustls::ServerConnection) {
    client.writer().write_all(b"ping from SM client").unwrap();
    transfer(client, server).unwrap();
    let mut got = vec![0u8; 64];
    let n = server.reader().read(&mut got).unwrap();
    assert_eq!(&got[..n], b"ping from SM client");

    server.writer().write_all(b"pong from SM server").unwrap();
    transfer(server, client).unwrap();
    let n = client.reader().read(&mut got).unwrap();
    assert_eq!(&got[..n], b"pong from SM server");
}
