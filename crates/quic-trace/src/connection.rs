//! Per-connection state the decoder keeps: addresses and versions, the DCID Initial
//! keys come from, packet number spaces, CRYPTO streams and derived keys.

use std::net::SocketAddr;

use crate::cid::ConnectionId;
use crate::fasthash::FastMap;
use crate::keys::{DirKeys, Level};
use crate::packet::{ConnectionInfo, Direction};
use crate::tls::{self, CryptoStream, TransportParameters};

/// RFC 9287 §3.
const GREASE_QUIC_BIT: u64 = 0x2ab2;
/// draft-ferrieuxhamchaoui-quic-lossbits §5.1: 0 reads loss bits, 1 also sends them.
const LOSS_BITS: u64 = 0x1057;

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

    /// What the endpoint that sends in direction `sender` advertised, once its
    /// ClientHello or EncryptedExtensions has been read.
    fn transport_parameters(&self, sender: Direction) -> Option<&TransportParameters> {
        let tls = &self.info.tls;
        match sender {
            Direction::ClientToServer => tls.client_hellos.last()?.transport_parameters.as_ref(),
            Direction::ServerToClient => tls
                .encrypted_extensions
                .as_ref()?
                .transport_parameters
                .as_ref(),
        }
    }

    /// Whether packets travelling in `dir` may have the fixed bit cleared: RFC 9287
    /// allows it only towards an endpoint that advertised grease_quic_bit, so a
    /// cleared bit elsewhere still marks the datagram as not QUIC.
    pub(crate) fn fixed_bit_optional(&self, dir: Direction) -> bool {
        self.transport_parameters(dir.reverse())
            .is_some_and(|tp| tp.contains(GREASE_QUIC_BIT))
    }

    /// Whether short headers travelling in `dir` carry loss bits, which header
    /// protection leaves in the clear: the sender must have said it sends them (1)
    /// and the receiver that it reads them (0 or 1); picoquic decides so too.
    pub(crate) fn loss_bits(&self, dir: Direction) -> bool {
        let value = |sender| {
            self.transport_parameters(sender)
                .and_then(|tp| tp.integer(LOSS_BITS))
        };
        value(dir) == Some(1) && matches!(value(dir.reverse()), Some(0 | 1))
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

/// A connection whose client and server advertised these transport parameters
/// (id, value); `None` when that endpoint's hello was not read.
#[cfg(test)]
pub(crate) fn conn_with_parameters(
    client: Option<&[(u64, &[u8])]>,
    server: Option<&[(u64, &[u8])]>,
) -> Conn {
    use crate::tls::{ClientHello, EncryptedExtensions, TransportParameter};
    let params = |list: &[(u64, &[u8])]| {
        TransportParameters(
            list.iter()
                .map(|(id, value)| TransportParameter {
                    id: *id,
                    value: (*value).into(),
                })
                .collect(),
        )
    };
    let client_addr = "10.0.0.1:4433".parse().unwrap();
    let server_addr = "10.0.0.2:443".parse().unwrap();
    let mut c = Conn::new(
        &[1, 2, 3, 4],
        crate::version::VERSION_1,
        client_addr,
        server_addr,
    );
    if let Some(list) = client {
        c.info.tls.client_hellos.push(ClientHello {
            random: (&[0u8; 32][..]).into(),
            cipher_suites: vec![0x1301],
            alpn: Vec::new(),
            transport_parameters: Some(params(list)),
            offers_psk: false,
            early_data: false,
        });
    }
    if let Some(list) = server {
        c.info.tls.encrypted_extensions = Some(EncryptedExtensions {
            alpn: None,
            transport_parameters: Some(params(list)),
            early_data_accepted: false,
        });
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    #[test]
    fn the_receiver_of_a_packet_decides_whether_its_fixed_bit_may_be_cleared() {
        let grease: &[(u64, &[u8])] = &[(GREASE_QUIC_BIT, &[])];
        let c = conn_with_parameters(Some(grease), Some(&[]));
        assert!(c.fixed_bit_optional(S2C));
        assert!(!c.fixed_bit_optional(C2S));
        let c = conn_with_parameters(Some(&[]), Some(grease));
        assert!(c.fixed_bit_optional(C2S));
        assert!(!c.fixed_bit_optional(S2C));
        let c = conn_with_parameters(None, None);
        assert!(!c.fixed_bit_optional(C2S) && !c.fixed_bit_optional(S2C));
    }

    #[test]
    fn loss_bits_need_a_sender_that_sends_them_and_a_receiver_that_reads_them() {
        const SENDS: &[(u64, &[u8])] = &[(LOSS_BITS, &[1])];
        const READS: &[(u64, &[u8])] = &[(LOSS_BITS, &[0])];
        const NEITHER: &[(u64, &[u8])] = &[];
        // (client's parameters, server's, client→server uses them, server→client)
        let cases = [
            (SENDS, SENDS, true, true),
            (SENDS, READS, true, false),
            (READS, SENDS, false, true),
            (READS, READS, false, false),
            (SENDS, NEITHER, false, false),
            (NEITHER, SENDS, false, false),
        ];
        for (client, server, c2s, s2c) in cases {
            let c = conn_with_parameters(Some(client), Some(server));
            assert_eq!(c.loss_bits(C2S), c2s, "{client:?} {server:?}");
            assert_eq!(c.loss_bits(S2C), s2c, "{client:?} {server:?}");
        }
    }
}
