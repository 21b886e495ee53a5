//! Per-connection state the decoder keeps: addresses and versions, the DCID Initial
//! keys come from, packet number spaces, CRYPTO streams and derived keys.

use std::net::SocketAddr;

use crate::cid::ConnectionId;
use crate::fasthash::FastMap;
use crate::keys::{DirKeys, Level};
use crate::packet::{ConnectionInfo, Direction};
use crate::tls::{self, CryptoStream};

pub(crate) struct Conn {
    pub(crate) info: ConnectionInfo,
    /// The DCID Initial keys derive from: the client's first, or a Retry's SCID.
    pub(crate) initial_dcid: Vec<u8>,
    /// SCIDs of the server's Retry packets, in the order seen.
    pub(crate) retry_scids: Vec<Vec<u8>>,
    pub(crate) version: u32,
    /// DCID length of packets travelling in each direction.
    pub(crate) cid_len: [Option<usize>; 2],
    pub(crate) largest_pn: [[Option<u64>; 3]; 2],
    pub(crate) crypto: [[CryptoStream; 3]; 2],
    pub(crate) keys: FastMap<(Level, Direction, u32), DirKeys>,
}

impl Conn {
    pub(crate) fn new(
        original_dcid: &[u8],
        version: u32,
        client: SocketAddr,
        server: SocketAddr,
    ) -> Conn {
        Conn {
            info: ConnectionInfo {
                original_dcid: ConnectionId::new(original_dcid).unwrap_or_default(),
                client: Some(client),
                server: Some(server),
                ..ConnectionInfo::default()
            },
            initial_dcid: original_dcid.to_vec(),
            retry_scids: Vec::new(),
            version,
            cid_len: [None; 2],
            largest_pn: [[None; 3]; 2],
            crypto: Default::default(),
            keys: FastMap::default(),
        }
    }
}

/// Feeds CRYPTO data to the connection's TLS reassembly and records what completes.
pub(crate) fn feed_crypto(c: &mut Conn, dir: Direction, space: usize, offset: u64, data: &[u8]) {
    let tls = &mut c.info.tls;
    if dir == Direction::ServerToClient && space == 1 {
        tls.server_handshake_crypto_bytes = tls
            .server_handshake_crypto_bytes
            .max(offset + data.len() as u64);
    }
    for (t, body) in c.crypto[dir.index()][space].add(offset, data) {
        let client = dir == Direction::ClientToServer;
        if client {
            tls.client_messages.push(t)
        } else {
            tls.server_messages.push(t)
        }
        match (client, t) {
            (true, tls::CLIENT_HELLO) => tls.client_hellos.extend(tls::parse_client_hello(&body)),
            (false, tls::SERVER_HELLO) => {
                if let Some(sh) = tls::parse_server_hello(&body) {
                    if sh.hello_retry_request {
                        tls.hello_retry_request = true;
                    } else {
                        tls.server_hello = Some(sh);
                    }
                }
            }
            (false, tls::ENCRYPTED_EXTENSIONS) => {
                tls.encrypted_extensions = tls::parse_encrypted_extensions(&body)
            }
            (false, tls::CERTIFICATE) => tls.certificate = tls::parse_certificate(&body),
            _ => {}
        }
    }
}
