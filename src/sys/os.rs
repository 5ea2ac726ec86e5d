//! The OS vocabulary the glue modules name: option levels and names, flags, address
//! families and the plain C structs of control messages, re-exported from libc so that only
//! `src/sys/` depends on libc itself (every libc *call* and every `unsafe` stays in here).

/// Constants: address families, levels, options, message flags, cmsg types, errnos.
pub use libc::{
    AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC, EINVAL, EIO, EMSGSIZE, ENOPROTOOPT, EOPNOTSUPP,
    IPPROTO_IP, IPPROTO_IPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPV6_MULTICAST_HOPS,
    IPV6_MULTICAST_LOOP, IPV6_PKTINFO, IPV6_RECVERR, IPV6_RECVPKTINFO, IPV6_RECVTCLASS,
    IPV6_TCLASS, IPV6_UNICAST_HOPS, IPV6_V6ONLY, IP_MULTICAST_LOOP, IP_MULTICAST_TTL, IP_PKTINFO,
    IP_RECVERR, IP_RECVTOS, IP_TOS, IP_TTL, MSG_CMSG_CLOEXEC, MSG_CONFIRM, MSG_CTRUNC,
    MSG_DONTROUTE, MSG_DONTWAIT, MSG_EOR, MSG_ERRQUEUE, MSG_MORE, MSG_NOSIGNAL, MSG_OOB, MSG_PEEK,
    MSG_TRUNC, MSG_WAITALL, MSG_WAITFORONE, POLLIN, POLLOUT, SCM_CREDENTIALS, SCM_RIGHTS,
    SCM_TIMESTAMPNS, SOL_SOCKET, SOL_UDP, SO_ACCEPTCONN, SO_BROADCAST, SO_DOMAIN,
    SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6, SO_EE_ORIGIN_LOCAL, SO_EE_ORIGIN_NONE,
    SO_EE_ORIGIN_TXSTATUS, SO_ERROR, SO_KEEPALIVE, SO_REUSEADDR, SO_REUSEPORT, SO_RXQ_OVFL,
    SO_TIMESTAMPNS, SO_TYPE, TCP_NODELAY,
};

/// Plain C types the glue fills or reads (message headers, iovecs, cmsg payloads).
pub use libc::{
    c_void, in_pktinfo, iovec, mmsghdr, msghdr, sa_family_t, sock_extended_err, sockaddr_in,
    sockaddr_in6, socklen_t, timespec, ucred,
};
