//! Data transfer methods of `Socket`, one module per family of calls. All of them run their
//! syscalls through `Socket::io`, the single retry/wait loop.

pub mod batch;
pub mod datagram_reader;
pub mod datagrams;
pub mod message;
pub mod send_queue;
pub mod stream;
