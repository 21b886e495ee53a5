//! Packet-trace analysis: pcap/pcapng reading, QUIC v1/v2 decoding and decryption.
