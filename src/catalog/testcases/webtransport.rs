//! The WebTransport test cases.

use super::quic::quic;
use super::{FileSizes, Protocol, TestCase, WtDirection, WtFlow, WtStream, KB, MB};
use crate::judge::rules;

const WT_STREAM_FILES: FileSizes = FileSizes::List(&[100 * KB, 500 * KB, 250 * KB, MB, 2 * MB]);
const WT_DATAGRAM_FILES: FileSizes = FileSizes::Ramp {
    count: 200,
    base: 600,
    step: 2,
};

const fn wt(
    name: &'static str,
    abbr: &'static str,
    desc: &'static str,
    stream: WtStream,
    direction: WtDirection,
) -> TestCase {
    let files = match stream {
        WtStream::Datagram => WT_DATAGRAM_FILES,
        _ => WT_STREAM_FILES,
    };
    // The side that acts gets the full name, the side that only answers gets
    // "transfer".
    let (server_testcase, client_testcase) = match direction {
        WtDirection::Receive => ("transfer", name),
        WtDirection::Send => (name, "transfer"),
    };
    TestCase {
        protocol: Protocol::WebTransport,
        server_testcase,
        client_testcase,
        flow: Some(WtFlow { stream, direction }),
        ..quic(name, abbr, desc, name, files, rules::webtransport)
    }
}

/// The WebTransport test cases.
pub static WEBTRANSPORT_TESTS: &[TestCase] = &[
    TestCase {
        protocol: Protocol::WebTransport,
        ..quic(
            "handshake",
            "H",
            "Handshake completes successfully.",
            "handshake",
            FileSizes::None,
            rules::webtransport,
        )
    },
    wt(
        "transfer-unidirectional-receive",
        "UR",
        "Server sends data to client using unidirectional streams",
        WtStream::Unidirectional,
        WtDirection::Receive,
    ),
    wt(
        "transfer-unidirectional-send",
        "US",
        "Client sends data to server using unidirectional streams",
        WtStream::Unidirectional,
        WtDirection::Send,
    ),
    wt(
        "transfer-bidirectional-receive",
        "BR",
        "Server sends data to client using bidirectional streams",
        WtStream::Bidirectional,
        WtDirection::Receive,
    ),
    wt(
        "transfer-bidirectional-send",
        "BS",
        "Client sends data to server using bidirectional streams",
        WtStream::Bidirectional,
        WtDirection::Send,
    ),
    wt(
        "transfer-datagram-receive",
        "DR",
        "Server sends data to client using datagrams",
        WtStream::Datagram,
        WtDirection::Receive,
    ),
    wt(
        "transfer-datagram-send",
        "DS",
        "Client sends data to server using datagrams",
        WtStream::Datagram,
        WtDirection::Send,
    ),
];
