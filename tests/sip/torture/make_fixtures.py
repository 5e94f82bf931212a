# ruff: noqa: E501  (transcribed RFC text: long wire lines kept whole)
"""Regenerate the RFC 4475 / RFC 5118 fixture files (CRLF line ends, exact bytes).

The texts are transcribed from RFC 4475 §3.1.1/§3.1.2 (and RFC 5118 §4) with the RFC's
conventions expanded: <allOneLine> joined, <hex>..</hex> turned into the bytes. Run:
``python tests/sip/torture/make_fixtures.py``. mpart01's binary part is not reproducible
from the RFC's text rendering, so a binary part with NUL bytes of our own stands in.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
SDP150 = (
    "v=0\no=mhandley 29739 7272939 IN IP4 192.0.2.{ip}\ns=-\nc=IN IP4 192.0.2.{ip}\n"
    "t=0 0\nm=audio 49217 RTP/AVP 0 12\nm=video 3227 RTP/AVP 31\na=rtpmap:31 LPC\n"
)


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


V: dict[str, bytes] = {}
X: dict[str, bytes] = {}

V["wsinv"] = crlf(
    "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n"
    "TO :\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n"
    'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\n  ;\n  tag = 98asjd8\n'
    "MaX-fOrWaRdS: 0068\nCall-ID: wsinv.ndaksdj@192.0.2.1\nContent-Length   : 150\n"
    "cseq: 0009\n  INVITE\nVia  : SIP  /   2.0\n /UDP\n    192.0.2.2;branch=390skdjuw\ns :\n"
    "NewFangledHeader:   newfangled value\n continued newfangled value\n"
    "UnknownHeaderWithUnusualValue: ;;,,;;,;\nContent-Type: application/sdp\n"
    "Route:\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\n"
    "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\n  branch  =   z9hG4bK9ikj8  ,\n"
    " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n z9hG4bK30239\n"
    'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\n      newvalue ;\n'
    "  secondparam ; q = 0.33\n\n" + SDP150.format(ip="3").replace("c=IN IP4 192.0.2.3",
                                                                   "c=IN IP4 192.0.2.4")
)
V["intmeth"] = (
    crlf(
        "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/"
        "crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\n"
        "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\n"
    )
    + b'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/'
    b"crazy?,/;;*@example.com>\r\n"
    + crlf(
        "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="
        '"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439";tag=_token~1\'+`*%!-.\n'
        "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\n"
        "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\n"
        "Max-Forwards: 255\n"
        "extensionHeader-!.%*+_`'~:\ufeff\u5927\u505c\u96fb\n"
        "Content-Length: 0\n\n"
    )
)
V["esc01"] = crlf(
    "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\n"
    "To: sip:%75se%72@example.com\nFrom: <sip:I%20have%20spaces@example.net>;tag=938\n"
    "Max-Forwards: 87\ni: esc01.239409asdfakjkn23onasd0-3234\nCSeq: 234234 INVITE\n"
    "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\nC: application/sdp\n"
    "Contact:\n  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\n"
    "Content-Length: 150\n\n" + SDP150.format(ip="1")
)
V["escnull"] = crlf(
    "REGISTER sip:example.com SIP/2.0\nTo: sip:null-%00-null@example.com\n"
    "From: sip:null-%00-null@example.com;tag=839923423\nMax-Forwards: 70\n"
    "Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\nCSeq: 14398234 REGISTER\n"
    "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\n"
    "Contact: <sip:%00@host5.example.com>\nContact: <sip:%00%00@host5.example.com>\nL:0\n\n"
)
V["esc02"] = crlf(
    "RE%47IST%45R sip:registrar.example.com SIP/2.0\n"
    'To: "%Z%45" <sip:resource@example.com>\n'
    'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23\n'
    "Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\n"
    "Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234\nCSeq: 29344 RE%47IST%45R\n"
    "Max-Forwards: 70\nContact: <sip:alias1@host1.example.com>\n"
    "C%6Fntact: <sip:alias2@host2.example.com>\nContact: <sip:alias3@host3.example.com>\nl: 0\n\n"
)
V["lwsdisp"] = crlf(
    "OPTIONS sip:user@example.com SIP/2.0\nTo: sip:user@example.com\n"
    "From: caller<sip:caller@example.com>;tag=323\nMax-Forwards: 70\n"
    "Call-ID: lwsdisp.1234abcd@funky.example.com\nCSeq: 60 OPTIONS\n"
    "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\nl: 0\n\n"
)
_long = "long" * 20
_vias = "".join(
    f"{name}SIP/2.0/TCP sip{n}.example.com\n"
    for n, name in zip(
        range(33, 0, -1),
        ["Via: ", "v: ", "V: ", "Via: ", "ViA: ", "VIa: ", "VIA: ", "via: ", "viA: ", "vIa: ",
         "vIA: ", "V :  ", "v :  ", "V  : ", "v  : ", "Via : ", "Via  : "] + ["Via: "] * 16,
        strict=True,
    )
)
V["longreq"] = crlf(
    'INVITE sip:user@example.com SIP/2.0\nTo: "I have a user name of '
    + "extreme" * 10
    + " proportion\"<sip:user@example.com:6000;unknownparam1=very"
    + _long
    + "value;longparam"
    + "name" * 25
    + "=shortvalue;very"
    + "long" * 25
    + "ParameterNameWithNoValue>\nF: sip:"
    + "amazinglylongcallername" * 5
    + "@example.net;tag=12"
    + "982" * 50
    + "424;unknownheaderparam"
    + "name" * 20
    + "=unknowheaderparam"
    + "value" * 15
    + ";unknownValueless"
    + "paramname" * 10
    + "\nCall-ID: longreq.one"
    + "really" * 20
    + "longcallid\nCSeq: 3882340 INVITE\nUnknown-"
    + "Long" * 20
    + "-Name: unknown-"
    + _long
    + "-value; unknown-"
    + _long
    + "-parameter-name = unknown-"
    + _long
    + "-parameter-value\n"
    + _vias
    + "Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=very"
    + "long" * 50
    + "branchvalue\nMax-Forwards: 70\nContact: <sip:"
    + "amazinglylongcallername" * 5
    + "@host5.example.net>\nContent-Type: application/sdp\nl: 150\n\n"
    + SDP150.format(ip="1")
)
V["dblreq"] = crlf(
    "REGISTER sip:example.com SIP/2.0\nTo: sip:j.user@example.com\n"
    "From: sip:j.user@example.com;tag=43251j3j324\nMax-Forwards: 8\n"
    "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\nContact: sip:j.user@host.example.com\n"
    "CSeq: 8 REGISTER\nVia: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\n"
    "Content-Length: 0\n\nINVITE sip:joe@example.com SIP/2.0\nt: sip:joe@example.com\n"
    "From: sip:caller@example.net;tag=141334\nMax-Forwards: 8\n"
    "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\nCSeq: 8 INVITE\n"
    "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\nContent-Type: application/sdp\n"
    "Content-Length: 150\n\n" + SDP150.format(ip="15").replace("m=video", "m =video")
)
V["semiuri"] = crlf(
    "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\nTo: sip:j_user@example.com\n"
    "From: sip:caller@example.org;tag=33242\nMax-Forwards: 3\nCall-ID: semiuri.0ha0isndaksdj\n"
    "CSeq: 8 OPTIONS\nAccept: application/sdp, application/pkcs7-mime,\n"
    "        multipart/mixed, multipart/signed,\n        message/sip, message/sipfrag\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\nl: 0\n\n"
)
V["transports"] = crlf(
    "OPTIONS sip:user@example.com SIP/2.0\nTo: sip:user@example.com\n"
    "From: <sip:caller@example.com>;tag=323\nMax-Forwards: 70\n"
    "Call-ID:  transports.kijh4akdnaqjkwendsasfdj\nAccept: application/sdp\nCSeq: 60 OPTIONS\n"
    "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\n"
    "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\n"
    "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\n"
    "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\n"
    "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\nl: 0\n\n"
)
_binary = bytes(range(256)) + b"\x00\x00\r\n\r\n\x00"
_mpart_body = (
    crlf(
        "--7a9cbec02ceef655\nContent-Type: text/plain\nContent-Transfer-Encoding: binary\n\n"
        "Hello\n--7a9cbec02ceef655\nContent-Type: application/octet-stream\n"
        "Content-Transfer-Encoding: binary\n\n"
    )
    + _binary
    + b"\r\n--7a9cbec02ceef655--\r\n"
)
V["mpart01"] = (
    crlf(
        "MESSAGE sip:kumiko@example.org SIP/2.0\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport\n"
        "Max-Forwards: 70\nRoute: <sip:127.0.0.1:5080>\n"
        "Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+"
        "813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeiv"
        "UhkMWYUA=\nContact: <sip:fluffy@127.0.0.1:5070>\nTo: <sip:kumiko@example.org>\n"
        "From: <sip:fluffy@example.com>;tag=2fb0dcc9\n"
        "Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..\nCSeq: 1 MESSAGE\n"
        "Content-Transfer-Encoding: binary\nContent-Type: multipart/mixed;boundary=7a9cbec02ceef655\n"
        "Date: Sat, 15 Oct 2005 04:44:56 GMT\nUser-Agent: SIPimp.org/0.2.5 (curses)\n"
        f"Content-Length: {len(_mpart_body)}\n\n"
    )
    + _mpart_body
)
V["unreason"] = crlf(
    "SIP/2.0 200 = 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f"
    "\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e"
    "\u0441\u0442\u043e\u0435\n"
    "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\n"
    "Call-ID: unreason.1234ksdfak3j2erwedfsASdf\nCSeq: 35 INVITE\n"
    "From: sip:user@example.com;tag=11141343\nTo: sip:user@example.edu;tag=2229\n"
    "Content-Length: 154\nContent-Type: application/sdp\n"
    "Contact: <sip:user@host198.example.com>\n\n" + SDP150.format(ip="198")
)
V["noreason"] = crlf(
    "SIP/2.0 100 \nVia: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\n"
    "Call-ID: noreason.asndj203insdf99223ndf\nCSeq: 35 INVITE\n"
    "From: <sip:user@example.com>;tag=39ansfi3\nTo: <sip:user@example.edu>;tag=902jndnke3\n"
    "Content-Length: 0\nContact: <sip:user@host105.example.com>\n\n"
)
# RFC 4475 §3.1.2.19 and §3.3.x messages the parser must still accept.
V["badbranch"] = crlf(
    "OPTIONS sip:user@example.com SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:caller@example.org;tag=33242\nMax-Forwards: 3\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\nAccept: application/sdp\n"
    "Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n\nCSeq: 8 OPTIONS\nl: 0\n\n"
)
V["baddate"] = crlf(
    "INVITE sip:user@example.com SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:caller@example.net;tag=2234923\nMax-Forwards: 70\n"
    "Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234\nCSeq: 1392934 INVITE\n"
    "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\n"
    "Date: Fri, 01 Jan 2010 16:00:00 EST\nContact: <sip:caller@host5.example.net>\n"
    "Content-Type: application/sdp\nContent-Length: 150\n\n" + SDP150.format(ip="5")
)
V["regbadct"] = crlf(
    "REGISTER sip:example.com SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:user@example.com;tag=998332\nMax-Forwards: 70\n"
    "Call-ID: regbadct.k345asrl3fdbv@10.0.0.1\nCSeq: 1 REGISTER\n"
    "Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw\n"
    "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\nl: 0\n\n"
)
V["zeromf"] = crlf(
    "OPTIONS sip:user@example.com SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:caller@example.net;tag=3ghsd41\nCall-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas\n"
    "CSeq: 39234321 OPTIONS\nVia: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i\n"
    "Max-Forwards: 0\nContent-Length: 0\n\n"
)
V["unksm2"] = crlf(
    "REGISTER sip:example.com SIP/2.0\nTo: isbn:2983792873\n"
    "From: <http://www.example.com>;tag=3234233\n"
    "Call-ID: unksm2.daksdj@hyphenated-host.example.com\nCSeq: 234902 REGISTER\n"
    "Max-Forwards: 70\nVia: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw\n"
    "Contact: <name:John_Smith>\nl: 0\n\n"
)
# RFC 5118 (IPv6) valid examples.
V["ipv6-good"] = crlf(
    "REGISTER sip:[2001:db8::10] SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:user@example.com;tag=81x2\nVia: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111\n"
    "Call-ID: SSG9559905523997077@hlau_4100\nMax-Forwards: 70\n"
    'Contact: "Caller" <sip:caller@[2001:db8::1]>\nCSeq: 98176 REGISTER\nContent-Length: 0\n\n'
)
V["port-ambiguous"] = crlf(
    "REGISTER sip:[2001:db8::10]:5070 SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:user@example.com;tag=81x2\nVia: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111\n"
    "Call-ID: SSG9559905523997077@hlau_4100\nMax-Forwards: 70\n"
    'Contact: "Caller" <sip:caller@[2001:db8::1]>\nCSeq: 98176 REGISTER\nContent-Length: 0\n\n'
)
V["via-received-param-with-delim"] = crlf(
    "OPTIONS sip:[2001:db8::10] SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:user@example.com;tag=81x2\n"
    "Via: SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111\n"
    "Call-ID: SSG9559905523997077@hlau_4100\nMax-Forwards: 70\n"
    'Contact: "Caller" <sip:caller@[2001:db8::9:1]>\nCSeq: 98176 OPTIONS\nContent-Length: 0\n\n'
)
V["via-received-param-no-delim"] = crlf(
    "OPTIONS sip:[2001:db8::10] SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:user@example.com;tag=81x2\n"
    "Via: SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3\n"
    "Call-ID: SSG9559905523997077@hlau_4100\nMax-Forwards: 70\n"
    'Contact: "Caller" <sip:caller@[2001:db8::9:1]>\nCSeq: 98176 OPTIONS\nContent-Length: 0\n\n'
)

X["badinv01"] = crlf(
    "INVITE sip:user@example.com SIP/2.0\nTo: sip:j.user@example.com\n"
    "From: sip:caller@example.net;tag=134161461246\nMax-Forwards: 7\n"
    "Call-ID: badinv01.0ha0isndaksdjasdf3234nas\nCSeq: 8 INVITE\n"
    "Via: SIP/2.0/UDP 192.0.2.15;;,;,,\nContact: \"Joe\" <sip:joe@example.org>;;;;\n"
    "Content-Length: 152\nContent-Type: application/sdp\n\n" + SDP150.format(ip="15")
)
X["clerr"] = crlf(
    "INVITE sip:user@example.com SIP/2.0\nMax-Forwards: 80\nTo: sip:j.user@example.com\n"
    "From: sip:caller@example.net;tag=93942939o2\nContact: <sip:caller@hungry.example.net>\n"
    "Call-ID: clerr.0ha0isndaksdjweiafasdk3\nCSeq: 8 INVITE\n"
    "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\n"
    "Content-Type: application/sdp\nContent-Length: 9999\n\n" + SDP150.format(ip="155")
)
X["ncl"] = crlf(
    "INVITE sip:user@example.com SIP/2.0\nMax-Forwards: 254\nTo: sip:j.user@example.com\n"
    "From: sip:caller@example.net;tag=32394234\nCall-ID: ncl.0ha0isndaksdj2193423r542w35\n"
    "CSeq: 0 INVITE\nVia: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw\n"
    "Contact: <sip:caller@example53.example.net>\nContent-Type: application/sdp\n"
    "Content-Length: -999\n\n" + SDP150.format(ip="53")
)
X["scalar02"] = crlf(
    "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\n"
    "To: <sip:user@example.com>\nFrom: <sip:user@example.com>;tag=239232jh3\n"
    "CSeq: 36893488147419103232 REGISTER\nCall-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\n"
    "Max-Forwards: 300\nExpires: 1" + "0" * 100 + "\nContact: <sip:user@host129.example.com>\n"
    "  ;expires=280297596632815\nContent-Length: 0\n\n"
)
X["scalarlg"] = crlf(
    "SIP/2.0 503 Service Unavailable\n"
    "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129\n"
    "To: <sip:user@example.com>\nFrom: <sip:other@example.net>;tag=2easdjfejw\n"
    "CSeq: 9292394834772304023312 OPTIONS\nCall-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r\n"
    "Retry-After: 949302838503028349304023988\nWarning: 1812 overture \"In Progress\"\n"
    "Content-Length: 0\n\n"
)
X["quotbal"] = crlf(
    'INVITE sip:user@example.com SIP/2.0\nTo: "Mr. J. User <sip:j.user@example.com>\n'
    "From: sip:caller@example.net;tag=93334\nMax-Forwards: 10\nCall-ID: quotbal.aksdj\n"
    "Contact: <sip:caller@host59.example.net>\nCSeq: 8 INVITE\n"
    "Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234\n"
    "Content-Type: application/sdp\nContent-Length: 152\n\n" + SDP150.format(ip="15")
)
_sdp159 = SDP150.format(ip="{ip}").replace("t=0 0", "t=3149328700 0")
X["ltgtruri"] = crlf(
    "INVITE <sip:user@example.com> SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:caller@example.net;tag=39291\nMax-Forwards: 23\nCall-ID: ltgtruri.1@192.0.2.5\n"
    "CSeq: 1 INVITE\nVia: SIP/2.0/UDP 192.0.2.5\nContact: <sip:caller@host5.example.net>\n"
    "Content-Type: application/sdp\nContent-Length: 159\n\n" + _sdp159.format(ip="5")
)
X["lwsruri"] = crlf(
    "INVITE sip:user@example.com; lr SIP/2.0\nTo: sip:user@example.com;tag=3xfe-9921883-z9f\n"
    "From: sip:caller@example.net;tag=231413434\nMax-Forwards: 5\n"
    "Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423\nCSeq: 2130706432 INVITE\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395\n"
    "Contact: <sip:caller@host1.example.net>\nContent-Type: application/sdp\n"
    "Content-Length: 159\n\n" + _sdp159.format(ip="1")
)
X["lwsstart"] = crlf(
    "INVITE  sip:user@example.com  SIP/2.0\nMax-Forwards: 8\nTo: sip:user@example.com\n"
    "From: sip:caller@example.net;tag=8814\n"
    "Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com\nCSeq: 1893884 INVITE\n"
    "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923\n"
    "Contact: <sip:caller@host1.example.net>\nContent-Type: application/sdp\n"
    "Content-Length: 150\n\n" + SDP150.format(ip="1")
)
X["trws"] = crlf(
    "OPTIONS sip:remote-target@example.com SIP/2.0  \n"
    "Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093\n"
    "To: <sip:remote-target@example.com>\nFrom: <sip:local-resource@example.com>;tag=329429089\n"
    "Call-ID: trws.oicu34958239neffasdhr2345r\nAccept: application/sdp\nCSeq: 238923 OPTIONS\n"
    "Max-Forwards: 70\nContent-Length: 0\n\n"
)
X["escruri"] = crlf(
    "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0\n"
    "To: sip:user@example.com\nFrom: sip:caller@example.net;tag=341518\nMax-Forwards: 7\n"
    "Contact: <sip:caller@host39923.example.net>\n"
    "Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5\nCSeq: 149209342 INVITE\n"
    "Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw\n"
    "Content-Type: application/sdp\nContent-Length: 150\n\n" + SDP150.format(ip="1")
)
X["badaspec"] = crlf(
    "OPTIONS sip:user@example.org SIP/2.0\n"
    "Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234\nMax-Forwards: 70\n"
    'From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423\n'
    'To: "Watson, Thomas" < sip:t.watson@example.org >\n'
    "Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3\nAccept: application/sdp\n"
    "CSeq: 3923239 OPTIONS\nl: 0\n\n"
)
X["baddn"] = crlf(
    "OPTIONS sip:t.watson@example.org SIP/2.0\n"
    "Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw\nMax-Forwards:      70\n"
    "From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43\n"
    "To:      Watson, Thomas <sip:t.watson@example.org>\nCall-ID: baddn.31415@c.example.com\n"
    "Accept: application/sdp\nCSeq:    3923239 OPTIONS\nl: 0\n\n"
)
X["badvers"] = crlf(
    "OPTIONS sip:t.watson@example.org SIP/7.0\n"
    "Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\nMax-Forwards:     70\n"
    "From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\n"
    "To:      T. Watson <sip:t.watson@example.org>\nCall-ID: badvers.31417@c.example.com\n"
    "CSeq:    1 OPTIONS\nl: 0\n\n"
)
X["mismatch01"] = crlf(
    "OPTIONS sip:user@example.com SIP/2.0\nTo: sip:j.user@example.com\n"
    "From: sip:caller@example.net;tag=34525\nMax-Forwards: 6\nCall-ID: mismatch01.dj0234sxdfl3\n"
    "CSeq: 8 INVITE\nVia: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\nl: 0\n\n"
)
X["mismatch02"] = crlf(
    "NEWMETHOD sip:user@example.com SIP/2.0\nTo: sip:j.user@example.com\n"
    "From: sip:caller@example.net;tag=34525\nMax-Forwards: 6\nCall-ID: mismatch02.dj0234sxdfl3\n"
    "CSeq: 8 INVITE\nContact: <sip:caller@host.example.net>\n"
    "Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw\nContent-Type: application/sdp\n"
    "l: 138\n\nv=0\no=mhandley 29739 7272939 IN IP4 192.0.2.1\nc=IN IP4 192.0.2.1\n"
    "m=audio 49217 RTP/AVP 0 12\nm=video 3227 RTP/AVP 31\na=rtpmap:31 LPC\n"
)
X["bigcode"] = crlf(
    "SIP/2.0 4294967301 better not break the receiver\n"
    "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\n"
    "Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i\nCSeq: 353494 INVITE\n"
    "From: <sip:user@example.com>;tag=39ansfi3\nTo: <sip:user@example.edu>;tag=902jndnke3\n"
    "Content-Length: 0\nContact: <sip:user@host105.example.com>\n\n"
)
# RFC 4475 §3.3 messages that the parser rejects (duplicated singletons, missing headers).
X["mcl01"] = crlf(
    "OPTIONS sip:user@example.com SIP/2.0\nVia: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423\n"
    "To: sip:user@example.com\nFrom: sip:other@example.net;tag=3923942\n"
    "Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf\nCSeq: 15932 OPTIONS\nContent-Length: 13\n"
    "Max-Forwards: 60\nContent-Length: 5\nContent-Type: text/plain\n\n"
    "There's no way to know how many octets are supposed to be here.\n"
)
X["multi01"] = crlf(
    "INVITE sip:user@company.com SIP/2.0\nContact: <sip:caller@host25.example.net>\n"
    "Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw\nMax-Forwards: 70\nCSeq: 5 INVITE\n"
    "Call-ID: multi01.98asdh@192.0.2.1\nCSeq: 59 INVITE\nCall-ID: multi01.98asdh@192.0.2.2\n"
    "From: sip:caller@example.com;tag=3413415\nTo: sip:user@example.com\n"
    "To: sip:other@example.net\nFrom: sip:caller@example.net;tag=2923420123\n"
    f"Content-Type: application/sdp\nl: {len(crlf(SDP150.format(ip='25')))}\n"
    "Contact: <sip:caller@host36.example.net>\nMax-Forwards: 5\n\n" + SDP150.format(ip="25")
)
X["insuf"] = crlf(
    "INVITE sip:user@example.com SIP/2.0\nCSeq: 193942 INVITE\n"
    "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\nContent-Type: application/sdp\n"
    "l: 152\n\n" + SDP150.format(ip="95")
)
# RFC 5118 invalid examples.
X["ipv6-bug-abnf-3-colons"] = crlf(
    "OPTIONS sip:user@[2001:db8:::192.0.2.1] SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:user@example.com;tag=810x2\nVia: SIP/2.0/UDP lab1.east.example.com;branch=z9hG4bKas3-111\n"
    "Call-ID: G9559905523997077@hlau_4100\nCSeq: 689 OPTIONS\nMax-Forwards: 70\n"
    "Content-Length: 0\n\n"
)
X["ipv6-no-brackets"] = crlf(
    "REGISTER sip:2001:db8::10 SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:user@example.com;tag=81x2\nVia: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111\n"
    "Call-ID: SSG9559905523997077@hlau_4100\nMax-Forwards: 70\n"
    'Contact: "Caller" <sip:caller@[2001:db8::1]>\nCSeq: 98176 REGISTER\nContent-Length: 0\n\n'
)
X["mismatched-brackets"] = crlf(
    "REGISTER sip:[2001:db8::10 SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:user@example.com;tag=81x2\nVia: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111\n"
    "Call-ID: SSG9559905523997077@hlau_4100\nMax-Forwards: 70\n"
    'Contact: "Caller" <sip:caller@[2001:db8::1]>\nCSeq: 98176 REGISTER\nContent-Length: 0\n\n'
)

if __name__ == "__main__":
    for folder, table in (("valid", V), ("invalid", X)):
        for name, data in table.items():
            (HERE / folder / f"{name}.sip").write_bytes(data)
    print(f"wrote {len(V)} valid and {len(X)} invalid fixtures")
