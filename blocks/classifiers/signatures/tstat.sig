netloom-signatures 1
# netloom's PDPI dictionary: Tstat's single-packet payload classes, written
# from protocol knowledge (format: README.md beside this file).
# NAME APP L4 DIR CODES [OPTIONS] /REGEX/FLAGS
# Lengths are UDP/TCP payload bytes (Tstat's thresholds count the 8-byte UDP
# header: "UDP length > 22" is minlen=15 here). On several matches the
# earliest line wins.
#
# udp codes (Tstat enum udp_type): 8 EDK, 9 KAD, 10 KADU, 11 GNUTELLA,
# 12 BITTORRENT, 15 PPLIVE, 16 SOPCAST, 17 TVANTS, 19 DNS, 20 UTP, 23 PPSTREAM,
# 24 TEREDO, 25 SIP, 26 DTLS, 27 QUIC, 30 MTURN.
# p2p codes: ipp2p code*100 + subtype (1 EDK, 6 DATA_GNU, 7 GNU, 9 BIT).
# con=256 is con_t's P2P bit.

# ---------------------------------------------------------------- UDP: naming
# Multicast DNS: DNS messages on port 5353 (Tstat counts them as DNS).
mdns            MDNS       udp any udp=19 minlen=12 port=5353    /^.{4}\x00[\x00-\x10]/s
# LLMNR (RFC 4795): DNS messages on port 5355 (Tstat counts them as DNS).
llmnr           LLMNR      udp any udp=19 minlen=12 port=5355    /^.{4}\x00[\x00-\x10]/s
# DNS: one or two questions, first label 1..63 bytes starting with a letter or digit.
dns             DNS        udp any udp=19 minlen=15              /^.{4}\x00[\x01\x02].{6}[\x01-\x3f][0-9A-Za-z_]/s

# ------------------------------------------------------------ UDP: STUN/TURN
# STUN (RFC 5389): message class/method, length = payload-20, magic cookie.
stun            STUN       udp any -      minlen=20 lenfield=2:be:-20   /^[\x00\x01][\x01-\x1f\x80-\x9f]..\x21\x12\xa4\x42/s
# Classic STUN (RFC 3489): binding/shared-secret request/response without cookie.
stun-classic    STUN       udp any -      minlen=20 lenfield=2:be:-20   /^(\x00[\x01\x02]|\x01[\x01\x02\x11\x12])/s
# Microsoft TURN (MS-TURN multiplexed channel): FF 10 + length = payload-4.
mturn           MTURN      udp any udp=30 minlen=15 lenfield=2:be:-4    /^\xff\x10/s

# ------------------------------------------------------------ UDP: BitTorrent
# Mainline DHT (bencoded KRPC query / response carrying the node id).
bt-dht          BitTorrent udp any udp=12 minlen=31  /^d1:[ar]d2:id20:/s
# Other KRPC messages: dictionaries with a transaction id and message type keys.
bt-dht-krpc     BitTorrent udp any udp=12 minlen=16  /^d1:[aeqrtvy]1?:?.*1:y1:[qre]e$/s
# Vuze DHT request (connection id with the high bit, protocol 00 00 04, action).
bt-vuze-req     BitTorrent udp any udp=12 minlen=16  /^[\x80-\xff].{7}\x00\x00\x04[\x00\x02\x04\x06\x0a\x0b\x0c]/s
# Vuze DHT reply.
bt-vuze-reply   BitTorrent udp any udp=12 minlen=16  /^\x00\x00\x04[\x01\x03\x05\x07\x08\x09\x0d].{4}[\x80-\xff]/s
# UDP tracker connect request: the protocol magic 0x41727101980.
bt-tracker-udp  BitTorrent udp any udp=12 len=16     /^\x00\x00\x04\x17\x27\x10\x19\x80/s
# uTP carrying the BitTorrent handshake (DATA packet, header 20 bytes).
utp-bt          BitTorrent udp any udp=21 minlen=40  /^\x01[\x00-\x02].{18}\x13BitTorrent protocol/s
# uTP SYN or STATE without payload (header only, extension 0..2).
utp-syn         BitTorrent udp any udp=20 len=20     /^[\x41\x21][\x00-\x02]/s

# ------------------------------------------------------ UDP: eDonkey / Kad
# eDonkey server UDP messages (protocol E3): status, search, sources.
edk-srv         eDonkey    udp any udp=8 minlen=2    /^\xe3[\x92\x98\x99]/s
edk-srv-96      eDonkey    udp any udp=8 len=6       /^\xe3\x96/s
edk-srv-97      eDonkey    udp any udp=8 len=14|18|26|30|34|42  /^\xe3\x97/s
edk-srv-a2      eDonkey    udp any udp=8 len=6       /^\xe3\xa2\xff\xf0/s
edk-srv-a3      eDonkey    udp any udp=8 minlen=42   /^\xe3\xa3\xff\xf0/s
edk-srv-9a      eDonkey    udp any udp=8 lenmod=2:16 /^\xe3\x9a/s
edk-srv-9b      eDonkey    udp any udp=8 len=25|31|48|60|71|89  /^\xe3\x9b/s
# eMule extended UDP (protocol C5): reask, file-not-found, queue full, ping.
emule-ext       eDonkey    udp any udp=8 minlen=2    /^\xc5[\x90\x91\x94]/s
emule-ext-fe    eDonkey    udp any udp=8 len=3       /^\xc5\xfe/s
emule-ext-92    eDonkey    udp any udp=8 len=2       /^\xc5[\x92\x93]/s
emule-ext-95    eDonkey    udp any udp=8 len=21      /^\xc5\x95/s
# Kademlia (protocol E4) and AdunanzA's KADu (A4): bootstrap, hello, lookups, ping.
kad-bootstrap   eDonkey    udp any udp=9  len=2|27    /^\xe4[\x00\x01]/s
kad-bootstrap-res eDonkey  udp any udp=9  lenmod=23:25 /^\xe4\x09/s
kad-hello       eDonkey    udp any udp=9  minlen=22   /^\xe4[\x11\x19]/s
kad-req         eDonkey    udp any udp=9  len=35      /^\xe4\x21[\x01-\x1f]/s
kad-res         eDonkey    udp any udp=9  lenmod=19:25 /^\xe4\x29/s
kad-ping        eDonkey    udp any udp=9  len=2       /^\xe4[\x60\x61]/s
kad-firewalled  eDonkey    udp any udp=9  len=4       /^\xe4\x50/s
kadu-bootstrap  eDonkey    udp any udp=10 len=2|27    /^\xa4[\x00\x01]/s
kadu-hello      eDonkey    udp any udp=10 minlen=22   /^\xa4[\x11\x19]/s
kadu-req        eDonkey    udp any udp=10 len=35      /^\xa4\x21[\x01-\x1f]/s
kadu-res        eDonkey    udp any udp=10 lenmod=19:25 /^\xa4\x29/s
kadu-ping       eDonkey    udp any udp=10 len=2       /^\xa4[\x60\x61]/s
# Packed Kad / KADu: protocol E5 / A5, opcode, then a zlib stream header.
kad-packed      eDonkey    udp any udp=9  minlen=4    /^\xe5.\x78[\xda\x9c]/s
kadu-packed     eDonkey    udp any udp=10 minlen=4    /^\xa5.\x78[\xda\x9c]/s

# ------------------------------------------------------------ UDP: Gnutella
# Gnutella UDP: GND semi-reliable transport, or the handshake banner.
gnutella-gnd    Gnutella   udp any udp=11 minlen=4    /^(GND[\x00-\x0f]|GNUTELLA )/s
# A Gnutella 0.6 message: 16-byte GUID, descriptor, TTL, hops, LE length = payload-23.
gnutella-msg    Gnutella   udp any udp=11 minlen=23 lenfield=19:le:-23 /^.{16}[\x00\x01\x02\x31\x32\x40\x80\x81][\x00-\x10][\x00-\x10]..\x00\x00/s

# --------------------------------------------------------------- UDP: P2P-TV
pplive          PPLive     udp any udp=15 minlen=15 noport=53|137  /^\xe9\x03..\x98\xab\x01\x02/s
sopcast-a       SopCast    udp any udp=16 minlen=15 lenfield=10:be:-8 /^\x00.\x01.{5}(\x06\x01|\x01\x01|\x01\xff|\x03\xff)/s
sopcast-b       SopCast    udp any udp=16 minlen=15 lenfield=10:be:-8 /^\xff\xff\x01.{7}\x00/s
tvants          TVAnts     udp any udp=17 minlen=15   /^\x04\x00[\x07\x05]\x00..\x00\x00[\x53\x44]\x53\x00[\x11\x12\x13]\x00/s
# PPStream: 0x43 at byte 2, LE length at 0 = payload, payload-4 or payload-6.
ppstream        P2PTV      udp any udp=23 minlen=5 lenfield=0:le:0|-4|-6 /^..\x43/s

# -------------------------------------------------------- UDP: tunnels, VoIP
# Teredo: an IPv6 header from a 2001:0000::/32 address, optionally after an
# origin indication (00 00 port addr) or an authentication header (00 01).
teredo          Teredo     udp any udp=24 minlen=14   /^(\x00\x00.{6})?\x60\x00\x00\x00.{4}\x20\x01\x00\x00/s
# With an authentication indicator (00 01, id and auth lengths, nonce, confirmation).
teredo-auth     Teredo     udp any udp=24 minlen=53   /^\x00\x01\x00\x00.{9}\x60[\x00-\x0f]/s
teredo-bubble   Teredo     udp any udp=24 len=40|48      /^(\x00\x00.{6})?\x60.{3}\x00\x00\x3b/s
# SIP requests and responses (over TCP too: then only labels.app).
sip             SIP        any any udp=25 minlen=15   /^(SIP\/2\.0 [1-6][0-9][0-9] |(REGISTER|ACK|INVITE|PRACK|BYE|OPTIONS|CANCEL|UPDATE|SUBSCRIBE|NOTIFY|PUBLISH|INFO|REFER|MESSAGE) sips?:)/s
# DTLS handshake record (DTLS 1.0/1.2/1.3 draft versions FE FF..FE FB).
dtls-handshake  DTLS       udp any udp=26 minlen=18   /^\x16\xfe[\xfb-\xff].{8}[\x00-\x39]/s
# Any DTLS record alone in its datagram (mid-session): record length = payload-13.
dtls-record     DTLS       udp any udp=26 minlen=14 lenfield=11:be:-13 /^[\x14-\x17]\xfe[\xfd\xff]/s

# --------------------------------------------------------------- UDP: QUIC
# IETF QUIC long-header Initial (v1, drafts, Facebook mvfst) with a sane DCID length.
quic-initial    QUIC       udp any udp=27 minlen=30   /^[\xc0-\xcf](\x00\x00\x00\x01|\xff\x00\x00[\x00-\x22]|\xfa\xce\xb0[\x00-\x0f])[\x00-\x14]/s
# Long header with a reserved version 0x?a?a?a?a (forces version negotiation).
quic-grease     QUIC       udp c2s udp=27 minlen=1000 /^[\xc0-\xff][\x0a\x1a\x2a\x3a\x4a\x5a\x6a\x7a\x8a\x9a\xaa\xba\xca\xda\xea\xfa]{4}[\x00-\x14]/s
# Version negotiation (version 0) answering it.
quic-vneg       QUIC       udp s2c udp=27 minlen=11   /^[\x80-\xff]\x00\x00\x00\x00[\x00-\x14]/s
# QUIC v2 (RFC 9369) Initial has long-packet type bits 01.
quic-v2         QUIC       udp any udp=27 minlen=30   /^[\xd0-\xdf]\x6b\x33\x43\xcf[\x00-\x14]/s
# Google QUIC: Q043 and older (public flags, 8-byte CID, version), Q046+/T0xx long header.
gquic-old       QUIC       udp c2s udp=27 minlen=30   /^[\x09\x0d].{8}Q0[0-4][0-9]/s
gquic-long      QUIC       udp any udp=27 minlen=30   /^[\xc0-\xff][QT]0[4-9][0-9]/s

# ------------------------------------------------------------ TCP: BitTorrent
bt-handshake    BitTorrent tcp any con=256,p2p=901 minlen=20 /^\x13BitTorrent protocol/s
bt-tracker      BitTorrent tcp c2s con=256,p2p=902 minlen=21 /^GET \/(scrape|announce)(\.php)?\?(info_hash|passkey|pid)=/s
# Block request alone in a segment: length 13, id 6, index, begin, 16 KiB.
bt-request      BitTorrent tcp any con=256,p2p=903 len=17 /^\x00\x00\x00\x0d\x06.{8}\x00\x00\x40\x00/s

# --------------------------------------------------------------- TCP: eDonkey
# A whole eDonkey/eMule message in the segment: protocol, LE length = payload-5, opcode.
edk-hello       eDonkey    tcp any con=256,p2p=101 minlen=21 lenfield=1:le:-5 /^\xe3.{4}\x01/s
edk-hello-emule eDonkey    tcp any con=256,p2p=109 minlen=21 lenfield=1:le:-5 /^\xc5.{4}\x01/s
edk-part-packed eDonkey    tcp any con=256,p2p=103 minlen=21 /^[\xc5\xd4]...\x00\x40/s
edk-part        eDonkey    tcp any con=256,p2p=104 minlen=21 /^\xe3...\x00\x46/s
edk-msg         eDonkey    tcp any con=256,p2p=100 minlen=21 lenfield=1:le:-5 /^[\xe3\xc5\xd4]/s
# Start of a message longer than the segment: high length bytes zero, known opcode.
edk-long        eDonkey    tcp any con=256,p2p=100 minlen=21 /^[\xe3\xc5\xd4]..\x00\x00[\x01\x4c\x15\x16\x19\x38\x40\x46\x47\x4f\x50\x51\x54\x58\x59\x60\x81]/s

# -------------------------------------------------------------- TCP: Gnutella
gnutella-hs     Gnutella   tcp any con=256,p2p=701 minlen=10 /^GNUTELLA(\/0\.[46] [0-9]{3}| CONNECT\/0\.[46])/s
# Gnutella downloads and pushes (HTTP-like requests on the Gnutella network).
gnutella-get    Gnutella   tcp c2s con=256,p2p=601 minlen=20 /^GET \/(uri-res\/N2R\?urn:sha1:|get\/[0-9]+\/)/s
gnutella-giv    Gnutella   tcp any con=256,p2p=601 minlen=20 /^GIV [0-9]+:[0-9A-Fa-f]{32}\//s
