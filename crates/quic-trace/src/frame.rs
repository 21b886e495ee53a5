//! QUIC frames (RFC 9000 §19 and DATAGRAM, RFC 9221) as plain data. Stream and
//! datagram payloads are described by offset and length, not copied; CRYPTO data is
//! handed to a callback so the TLS layer can reassemble it.

use serde::Serialize;

use crate::bytes::{HexBytes, Reader};
use crate::cid::ConnectionId;

/// ECN counts carried by an ACK frame of type 0x03.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EcnCounts {
    pub ect0: u64,
    pub ect1: u64,
    pub ce: u64,
}

/// One frame. Consecutive PADDING bytes form one `Padding` with their count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    Padding {
        length: usize,
    },
    Ping,
    Ack {
        largest: u64,
        delay: u64,
        /// Acknowledged ranges as [smallest, largest], highest first.
        ranges: Vec<[u64; 2]>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ecn: Option<EcnCounts>,
    },
    ResetStream {
        id: u64,
        error_code: u64,
        final_size: u64,
    },
    StopSending {
        id: u64,
        error_code: u64,
    },
    Crypto {
        offset: u64,
        length: usize,
    },
    NewToken {
        token: HexBytes,
    },
    Stream {
        id: u64,
        offset: u64,
        length: usize,
        fin: bool,
    },
    MaxData {
        maximum: u64,
    },
    MaxStreamData {
        id: u64,
        maximum: u64,
    },
    MaxStreams {
        bidirectional: bool,
        maximum: u64,
    },
    DataBlocked {
        limit: u64,
    },
    StreamDataBlocked {
        id: u64,
        limit: u64,
    },
    StreamsBlocked {
        bidirectional: bool,
        limit: u64,
    },
    NewConnectionId {
        sequence: u64,
        retire_prior_to: u64,
        connection_id: ConnectionId,
        reset_token: HexBytes,
    },
    RetireConnectionId {
        sequence: u64,
    },
    PathChallenge {
        data: HexBytes,
    },
    PathResponse {
        data: HexBytes,
    },
    ConnectionClose {
        /// True for type 0x1d (an application error), false for a transport error.
        application: bool,
        error_code: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        frame_type: Option<u64>,
        reason: String,
    },
    HandshakeDone,
    Datagram {
        length: usize,
    },
}

impl Frame {
    /// The RFC 9000 name in lower snake case, as in the JSON output.
    pub fn name(&self) -> &'static str {
        match self {
            Frame::Padding { .. } => "padding",
            Frame::Ping => "ping",
            Frame::Ack { .. } => "ack",
            Frame::ResetStream { .. } => "reset_stream",
            Frame::StopSending { .. } => "stop_sending",
            Frame::Crypto { .. } => "crypto",
            Frame::NewToken { .. } => "new_token",
            Frame::Stream { .. } => "stream",
            Frame::MaxData { .. } => "max_data",
            Frame::MaxStreamData { .. } => "max_stream_data",
            Frame::MaxStreams { .. } => "max_streams",
            Frame::DataBlocked { .. } => "data_blocked",
            Frame::StreamDataBlocked { .. } => "stream_data_blocked",
            Frame::StreamsBlocked { .. } => "streams_blocked",
            Frame::NewConnectionId { .. } => "new_connection_id",
            Frame::RetireConnectionId { .. } => "retire_connection_id",
            Frame::PathChallenge { .. } => "path_challenge",
            Frame::PathResponse { .. } => "path_response",
            Frame::ConnectionClose { .. } => "connection_close",
            Frame::HandshakeDone => "handshake_done",
            Frame::Datagram { .. } => "datagram",
        }
    }
}

/// The frames of one packet payload and, if the list ended early, why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameList {
    pub frames: Vec<Frame>,
    /// Set when an unknown frame type or a malformed frame ended the list.
    pub stopped: Option<String>,
}

/// Parses a decrypted payload; `on_crypto(offset, data)` sees every CRYPTO frame.
pub fn parse_frames(payload: &[u8], mut on_crypto: impl FnMut(u64, &[u8])) -> FrameList {
    let mut list = FrameList::default();
    let mut r = Reader::new(payload);
    while !r.is_empty() {
        let start = r.position();
        let Some(frame_type) = r.varint() else {
            list.stopped = Some("a frame type is cut short".into());
            break;
        };
        if frame_type == 0 {
            let mut length = 1;
            while r.peek_u8() == Some(0) {
                r.skip(1);
                length += 1;
            }
            list.frames.push(Frame::Padding { length });
            continue;
        }
        match parse_frame(frame_type, &mut r, &mut on_crypto) {
            Ok(frame) => list.frames.push(frame),
            Err(why) => {
                list.stopped = Some(format!(
                    "{why} (frame type {frame_type:#x} at payload offset {start})"
                ));
                break;
            }
        }
    }
    list
}

type FrameResult = Result<Frame, &'static str>;

const CUT: &str = "malformed or truncated frame";

fn parse_frame(t: u64, r: &mut Reader<'_>, on_crypto: &mut impl FnMut(u64, &[u8])) -> FrameResult {
    let v = |r: &mut Reader<'_>| r.varint().ok_or(CUT);
    Ok(match t {
        0x01 => Frame::Ping,
        0x02 | 0x03 => parse_ack(t == 0x03, r)?,
        0x04 => Frame::ResetStream {
            id: v(r)?,
            error_code: v(r)?,
            final_size: v(r)?,
        },
        0x05 => Frame::StopSending {
            id: v(r)?,
            error_code: v(r)?,
        },
        0x06 => {
            let offset = v(r)?;
            let length = r.varint_len().ok_or(CUT)?;
            on_crypto(offset, r.bytes(length).ok_or(CUT)?);
            Frame::Crypto { offset, length }
        }
        0x07 => {
            let len = r.varint_len().ok_or(CUT)?;
            Frame::NewToken {
                token: r.bytes(len).ok_or(CUT)?.into(),
            }
        }
        0x08..=0x0f => parse_stream(t, r)?,
        0x10 => Frame::MaxData { maximum: v(r)? },
        0x11 => Frame::MaxStreamData {
            id: v(r)?,
            maximum: v(r)?,
        },
        0x12 | 0x13 => Frame::MaxStreams {
            bidirectional: t == 0x12,
            maximum: v(r)?,
        },
        0x14 => Frame::DataBlocked { limit: v(r)? },
        0x15 => Frame::StreamDataBlocked {
            id: v(r)?,
            limit: v(r)?,
        },
        0x16 | 0x17 => Frame::StreamsBlocked {
            bidirectional: t == 0x16,
            limit: v(r)?,
        },
        0x18 => {
            let sequence = v(r)?;
            let retire_prior_to = v(r)?;
            let cid = r.vec8().ok_or(CUT)?;
            if cid.is_empty() || cid.len() > 20 {
                return Err("NEW_CONNECTION_ID with an invalid connection ID length");
            }
            let token = r.bytes(16).ok_or(CUT)?;
            Frame::NewConnectionId {
                sequence,
                retire_prior_to,
                connection_id: ConnectionId::new(cid).ok_or(CUT)?,
                reset_token: token.into(),
            }
        }
        0x19 => Frame::RetireConnectionId { sequence: v(r)? },
        0x1a => Frame::PathChallenge {
            data: r.bytes(8).ok_or(CUT)?.into(),
        },
        0x1b => Frame::PathResponse {
            data: r.bytes(8).ok_or(CUT)?.into(),
        },
        0x1c | 0x1d => {
            let error_code = v(r)?;
            let frame_type = if t == 0x1c { Some(v(r)?) } else { None };
            let len = r.varint_len().ok_or(CUT)?;
            let reason = String::from_utf8_lossy(r.bytes(len).ok_or(CUT)?).into_owned();
            Frame::ConnectionClose {
                application: t == 0x1d,
                error_code,
                frame_type,
                reason,
            }
        }
        0x1e => Frame::HandshakeDone,
        0x30 | 0x31 => {
            let length = if t == 0x31 {
                r.varint_len().ok_or(CUT)?
            } else {
                r.remaining()
            };
            r.skip(length).ok_or(CUT)?;
            Frame::Datagram { length }
        }
        _ => return Err("unknown frame type"),
    })
}

fn parse_ack(with_ecn: bool, r: &mut Reader<'_>) -> FrameResult {
    let v = |r: &mut Reader<'_>| r.varint().ok_or(CUT);
    let largest = v(r)?;
    let delay = v(r)?;
    let count = v(r)?;
    let first = v(r)?;
    let bad = "ACK ranges go below packet number 0";
    let mut smallest = largest.checked_sub(first).ok_or(bad)?;
    let mut ranges = vec![[smallest, largest]];
    for _ in 0..count {
        let gap = v(r)?;
        let len = v(r)?;
        let high = smallest
            .checked_sub(gap)
            .and_then(|x| x.checked_sub(2))
            .ok_or(bad)?;
        smallest = high.checked_sub(len).ok_or(bad)?;
        ranges.push([smallest, high]);
    }
    let ecn = if with_ecn {
        Some(EcnCounts {
            ect0: v(r)?,
            ect1: v(r)?,
            ce: v(r)?,
        })
    } else {
        None
    };
    Ok(Frame::Ack {
        largest,
        delay,
        ranges,
        ecn,
    })
}

fn parse_stream(t: u64, r: &mut Reader<'_>) -> FrameResult {
    let id = r.varint().ok_or(CUT)?;
    let offset = if t & 0x04 != 0 {
        r.varint().ok_or(CUT)?
    } else {
        0
    };
    let length = if t & 0x02 != 0 {
        r.varint_len().ok_or(CUT)?
    } else {
        r.remaining()
    };
    r.skip(length).ok_or(CUT)?;
    Ok(Frame::Stream {
        id,
        offset,
        length,
        fin: t & 0x01 != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_runs_merge_and_crypto_is_reported() {
        let payload = [0x06, 0x00, 0x02, 0xaa, 0xbb, 0x00, 0x00, 0x00, 0x01];
        let mut seen = Vec::new();
        let list = parse_frames(&payload, |off, data| seen.push((off, data.to_vec())));
        assert_eq!(
            list.frames,
            vec![
                Frame::Crypto {
                    offset: 0,
                    length: 2
                },
                Frame::Padding { length: 3 },
                Frame::Ping
            ]
        );
        assert_eq!(seen, vec![(0, vec![0xaa, 0xbb])]);
    }

    #[test]
    fn ack_ranges_and_ecn() {
        // largest 10, delay 0, 1 extra range, first range 2 (8..10), gap 1, len 1 (4..5), ECN 1,2,3.
        let list = parse_frames(&[0x03, 10, 0, 1, 2, 1, 1, 1, 2, 3], |_, _| {});
        assert_eq!(
            list.frames,
            vec![Frame::Ack {
                largest: 10,
                delay: 0,
                ranges: vec![[8, 10], [4, 5]],
                ecn: Some(EcnCounts {
                    ect0: 1,
                    ect1: 2,
                    ce: 3
                })
            }]
        );
    }

    #[test]
    fn unknown_type_ends_the_list() {
        let list = parse_frames(&[0x01, 0x21, 0x01], |_, _| {});
        assert_eq!(list.frames, vec![Frame::Ping]);
        assert!(list.stopped.unwrap().contains("unknown"));
    }

    #[test]
    fn truncated_stream_is_reported() {
        let list = parse_frames(&[0x0a, 0x04, 0x05, 0x01], |_, _| {});
        assert!(list.frames.is_empty());
        assert!(list.stopped.is_some());
    }

    #[test]
    fn every_frame_type_with_its_fields() {
        let mut p: Vec<u8> = Vec::new();
        p.extend([0x04, 0x01, 0x02, 0x03]); // RESET_STREAM id 1 code 2 final 3
        p.extend([0x05, 0x01, 0x09]); // STOP_SENDING
        p.extend([0x07, 0x02, 0xaa, 0xbb]); // NEW_TOKEN
        p.extend([0x0f, 0x04, 0x05, 0x02, 0x61, 0x62]); // STREAM off+len+fin
        p.extend([0x10, 0x40, 0x64]); // MAX_DATA 100 (2-byte varint)
        p.extend([0x11, 0x04, 0x07]); // MAX_STREAM_DATA
        p.extend([0x12, 0x0a, 0x13, 0x0b]); // MAX_STREAMS bidi, uni
        p.extend([0x14, 0x01, 0x15, 0x04, 0x02]); // DATA_BLOCKED, STREAM_DATA_BLOCKED
        p.extend([0x16, 0x03, 0x17, 0x04]); // STREAMS_BLOCKED bidi, uni
        p.extend([0x18, 0x02, 0x01, 0x04, 1, 2, 3, 4]); // NEW_CONNECTION_ID
        p.extend([0x10; 16]); // its stateless reset token
        p.extend([0x19, 0x01]); // RETIRE_CONNECTION_ID
        p.extend([0x1a, 1, 2, 3, 4, 5, 6, 7, 8]); // PATH_CHALLENGE
        p.extend([0x1b, 1, 2, 3, 4, 5, 6, 7, 8]); // PATH_RESPONSE
        p.extend([0x1e]); // HANDSHAKE_DONE
        p.extend([0x31, 0x02, 0x00, 0x00]); // DATAGRAM with length
        p.extend([0x1c, 0x0a, 0x06, 0x02, b'n', b'o']); // CONNECTION_CLOSE transport
        p.extend([0x1d, 0x40, 0x00, 0x00]); // CONNECTION_CLOSE application
        p.extend([0x30, 0x09, 0x09]); // DATAGRAM to the end
        let list = parse_frames(&p, |_, _| {});
        assert_eq!(list.stopped, None);
        let names: Vec<&str> = list.frames.iter().map(Frame::name).collect();
        assert_eq!(
            names,
            [
                "reset_stream",
                "stop_sending",
                "new_token",
                "stream",
                "max_data",
                "max_stream_data",
                "max_streams",
                "max_streams",
                "data_blocked",
                "stream_data_blocked",
                "streams_blocked",
                "streams_blocked",
                "new_connection_id",
                "retire_connection_id",
                "path_challenge",
                "path_response",
                "handshake_done",
                "datagram",
                "connection_close",
                "connection_close",
                "datagram",
            ]
        );
        assert_eq!(
            list.frames[0],
            Frame::ResetStream {
                id: 1,
                error_code: 2,
                final_size: 3
            }
        );
        assert_eq!(
            list.frames[3],
            Frame::Stream {
                id: 4,
                offset: 5,
                length: 2,
                fin: true
            }
        );
        assert_eq!(list.frames[4], Frame::MaxData { maximum: 100 });
        assert_eq!(
            list.frames[7],
            Frame::MaxStreams {
                bidirectional: false,
                maximum: 11
            }
        );
        let Frame::NewConnectionId {
            sequence,
            retire_prior_to,
            connection_id,
            reset_token,
        } = &list.frames[12]
        else {
            panic!("{:?}", list.frames[12]);
        };
        assert_eq!((*sequence, *retire_prior_to), (2, 1));
        assert_eq!(connection_id.as_slice(), &[1, 2, 3, 4]);
        assert_eq!(reset_token.0, vec![0x10; 16]);
        assert_eq!(
            list.frames[18],
            Frame::ConnectionClose {
                application: false,
                error_code: 10,
                frame_type: Some(6),
                reason: "no".into()
            }
        );
        assert_eq!(
            list.frames[19],
            Frame::ConnectionClose {
                application: true,
                error_code: 0,
                frame_type: None,
                reason: String::new()
            }
        );
        assert_eq!(list.frames[20], Frame::Datagram { length: 2 });
        let json = serde_json::to_string(&list.frames[3]).unwrap();
        assert_eq!(
            json,
            r#"{"type":"stream","id":4,"offset":5,"length":2,"fin":true}"#
        );
    }
}
