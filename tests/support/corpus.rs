//! A synthetic vendor-format corpus shared by the end-to-end benchmark and
//! the Kafka tests: PAN-OS THREAT/url and TRAFFIC lines, Zeek DNS JSON, Okta
//! sign-ins and M365 `New-InboxRule` records, built from the demo lines with
//! varied users, hosts and IPs. Every line decodes to exactly one event (no
//! skips), so "events + dead letters = records" holds for any mix.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

const HOSTS: &[&str] = &[
    "www.ilovepdf.com/upload",
    "teams.microsoft.com/api",
    "www.dropbox.com/home",
    "chatgpt.com/backend-api/conversation",
    "www.example.org/index.html",
    "outlook.office365.com/mail",
    "pastebin.com/raw/x",
    "github.com/org/repo",
];
const QUERIES: &[&str] = &[
    "relay-1.net.anydesk.com",
    "teams.microsoft.com",
    "www.example.org",
    "api.openai.com",
    "login.microsoftonline.com",
    "cdn.example.net",
];
const IPS: &[&str] = &["214.214.214.216", "149.101.100.1", "89.160.20.115", "2.125.160.218", "81.2.69.142", "1.2.0.5"];

/// Line `i` of a log written `per_second` lines a second from 2026-11-24
/// 08:00 UTC, in time order (so no line is late in its stream): (day of
/// November, hour, minute, second). November has room for 6 days of it.
fn clock_at(i: usize, per_second: usize) -> (usize, usize, usize, usize) {
    let s = 8 * 3600 + i / per_second.max(1);
    (24 + s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60)
}

/// The four families, with the format id floodlight reads them as.
pub const FAMILIES: &[(&str, &str)] =
    &[("panos", "panos"), ("dns", "zeek-dns"), ("okta", "okta"), ("m365", "m365-audit")];

/// Line `i` of a PAN-OS syslog stream (THREAT/url and TRAFFIC alternate).
pub fn panos(i: usize) -> String {
    let host = HOSTS[i % HOSTS.len()];
    let user = format!("corp\\user{}", i % 500);
    let (a, b) = ((i / 250) % 250, i % 250);
    let (d, h, m, s) = clock_at(i, 10);
    if i % 2 == 0 {
        format!("<14>Nov 24 09:12:03 fw01 1,2026/11/24 09:12:03,013201001234,THREAT,url,2305,2026/11/{d} {h:02}:{m:02}:{s:02},10.0.{a}.{b},104.26.4.17,89.160.20.113,104.26.4.17,allow-web,{user},,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,2026/11/24 09:12:03,{i},1,51544,443,40112,443,0x408000,tcp,alert,\"{host}\",(9999),online-storage-and-backup,informational,client-to-server,1123,0x0,10.0.0.0-10.255.255.255,United States,0,,0,,")
    } else {
        format!("<14>Nov 24 09:12:03 fw01 1,2026/11/24 09:12:03,013201001234,TRAFFIC,end,2305,2026/11/{d} {h:02}:{m:02}:{s:02},10.0.{a}.{b},52.112.0.10,89.160.20.113,52.112.0.10,allow-web,{user},,ms-teams,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,2026/11/24 09:12:03,{i},1,51000,443,52000,443,0x400053,tcp,allow,960213,48213,912000,42,2026/11/24 09:12:03,12,computer-and-internet-info,0,{i},0x0,10.0.0.0-10.255.255.255,United States,0,21,21,tcp-fin")
    }
}

/// Line `i` of a Zeek dns.log in JSON.
pub fn zeek_dns(i: usize) -> String {
    format!("{{\"ts\":{}.5,\"uid\":\"C{i}\",\"id.orig_h\":\"10.0.{}.{}\",\"id.orig_p\":53211,\"id.resp_h\":\"10.0.0.2\",\"id.resp_p\":53,\"proto\":\"udp\",\"query\":\"{}\",\"qtype_name\":\"A\",\"rcode_name\":\"NOERROR\",\"answers\":[\"192.0.2.10\"]}}", 1795507200 + (i / 10) as u64, (i / 250) % 250, i % 250, QUERIES[i % QUERIES.len()])
}

/// Line `i` of an Okta System Log export (sign-ins; every third from iOS).
pub fn okta(i: usize) -> String {
    let ip = IPS[i % IPS.len()];
    let os = if i % 3 == 0 { "iOS" } else { "Windows 10" };
    let (d, h, m, s) = clock_at(i, 10);
    format!("{{\"uuid\":\"u{i}\",\"published\":\"2026-11-{d}T{h:02}:{m:02}:{s:02}.000Z\",\"eventType\":\"user.session.start\",\"actor\":{{\"id\":\"00u{i}\",\"type\":\"User\",\"alternateId\":\"user{}@corp.example.com\",\"displayName\":\"User {}\"}},\"client\":{{\"userAgent\":{{\"rawUserAgent\":\"Mozilla/5.0\",\"os\":\"{os}\"}},\"device\":\"Computer\",\"ipAddress\":\"{ip}\"}},\"outcome\":{{\"result\":\"SUCCESS\"}},\"target\":[]}}", i % 500, i % 500)
}

/// Line `i` of an M365 Unified Audit Log export (inbox rules forwarding out;
/// every second one to Gmail).
pub fn m365(i: usize) -> String {
    let dest =
        if i % 2 == 0 { format!("user{}@gmail.com", i % 500) } else { format!("ops{}@partner.example.net", i % 50) };
    let (d, h, m, s) = clock_at(i, 10);
    format!("{{\"CreationTime\":\"2026-11-{d}T{h:02}:{m:02}:{s:02}\",\"Id\":\"m{i}\",\"Operation\":\"New-InboxRule\",\"ResultStatus\":\"True\",\"Workload\":\"Exchange\",\"ClientIP\":\"89.160.20.116:5{}\",\"ObjectId\":\"user{}@corp.example.com\\\\r\",\"UserId\":\"user{}@corp.example.com\",\"Parameters\":[{{\"Name\":\"Name\",\"Value\":\"r{i}\"}},{{\"Name\":\"ForwardTo\",\"Value\":\"{dest}\"}},{{\"Name\":\"DeleteMessage\",\"Value\":\"True\"}}]}}", i % 1000, i % 500, i % 500)
}

/// Line `i` of `family` (`panos`, `dns`, `okta`, `m365`).
pub fn line(family: &str, i: usize) -> String {
    match family {
        "panos" => panos(i),
        "dns" => zeek_dns(i),
        "okta" => okta(i),
        _ => m365(i),
    }
}

/// Write `records` lines split evenly over `fw.log`, `dns.log`, `okta.log`, `m365.log` in `dir`.
pub fn write_corpus(dir: &Path, records: usize) -> std::io::Result<()> {
    let per = records / FAMILIES.len();
    for (family, _) in FAMILIES {
        let name = if *family == "panos" { "fw.log".to_string() } else { format!("{family}.log") };
        let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join(name))?);
        for i in 0..per {
            writeln!(w, "{}", line(family, i))?;
        }
        w.flush()?;
    }
    Ok(())
}

/// A deterministic pseudo-random sequence (SplitMix64) for corpus variety.
pub struct Mix(u64);

impl Mix {
    /// A sequence from `seed`.
    pub fn new(seed: u64) -> Self {
        Mix(seed)
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `true` with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Everyday destinations: sanctioned suites, CDNs, sites not in the catalog.
const BENIGN_HOSTS: &[&str] = &[
    "teams.microsoft.com",
    "outlook.office365.com",
    "login.microsoftonline.com",
    "corp-my.sharepoint.com",
    "www.office.com",
    "zoom.us",
    "corp.slack.com",
    "www.google.com",
    "fonts.gstatic.com",
    "www.bbc.co.uk",
    "en.wikipedia.org",
    "cdn.jsdelivr.net",
    "www.example.org",
    "news.ycombinator.com",
    "updates.vendor.example",
    "api.corp.example.com",
    "intranet.corp.example.com",
    "www.nytimes.com",
    "static.cloudflareinsights.com",
    "www.linkedin.com",
];
/// Shadow-IT destinations (about 3% of web traffic).
const SHADOW_HOSTS: &[&str] = &[
    "www.ilovepdf.com",
    "wetransfer.com",
    "chatgpt.com",
    "pastebin.com",
    "www.dropbox.com",
    "otter.ai",
    "smallpdf.com",
    "relay-1.net.anydesk.com",
    "claude.ai",
    "mega.nz",
];
const DNS_NAMES: &[&str] = &[
    "teams.microsoft.com",
    "outlook.office365.com",
    "www.google.com",
    "fonts.gstatic.com",
    "en.wikipedia.org",
    "cdn.jsdelivr.net",
    "www.example.org",
    "time.windows.com",
    "ctldl.windowsupdate.com",
    "dc01.corp.example.com",
    "wpad.corp.example.com",
    "ocsp.digicert.com",
];
/// Sign-in source addresses in the MaxMind test databases: offices, home
/// broadband, a cellular range, a hotel/café range, anonymizers.
const SIGNIN_IPS: &[&str] = &[
    "89.160.20.115",
    "89.160.20.120",
    "81.2.69.142",
    "2.125.160.218",
    "216.160.83.56",
    "175.16.199.1",
    "149.101.100.1",
    "214.214.214.216",
    "1.2.0.5",
    "67.43.156.1",
];

fn user(mix: &mut Mix) -> usize {
    // A few people make most of the traffic (Zipf-like): half the events from 10% of 2,000 users.
    if mix.chance(500) {
        mix.below(200)
    } else {
        mix.below(2000)
    }
}

fn host(mix: &mut Mix) -> &'static str {
    if mix.chance(30) {
        mix.pick(SHADOW_HOSTS)
    } else {
        mix.pick(BENIGN_HOSTS)
    }
}

/// The realistic mix's clock: about 40 events per second of log time.
fn clock(i: usize) -> (usize, usize, usize, usize) {
    clock_at(i, 40)
}

/// A PAN-OS TRAFFIC `end` line.
pub fn panos_traffic(mix: &mut Mix, i: usize) -> String {
    let (d, h, m, s) = clock(i);
    let u = user(mix);
    let (a, b) = (u / 250, u % 250);
    let up = 300 + mix.below(40_000);
    let down = 1_000 + mix.below(900_000);
    format!("<14>Nov {d} {h:02}:{m:02}:{s:02} fw01 1,2026/11/{d} {h:02}:{m:02}:{s:02},013201001234,TRAFFIC,end,2305,2026/11/{d} {h:02}:{m:02}:{s:02},10.1.{a}.{b},52.112.{}.{},89.160.20.113,52.112.0.10,allow-web,corp\\user{u},,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,2026/11/{d} {h:02}:{m:02}:{s:02},{i},1,{},443,40112,443,0x400053,tcp,allow,{},{up},{down},42,2026/11/{d} {h:02}:{m:02}:{s:02},12,computer-and-internet-info,0,{i},0x0,10.0.0.0-10.255.255.255,United States,0,21,21,tcp-fin", mix.below(256), mix.below(256), 49152 + mix.below(16000), up + down)
}

/// A PAN-OS THREAT `url` line (the URL filtering log).
pub fn panos_url(mix: &mut Mix, i: usize) -> String {
    let (d, h, m, s) = clock(i);
    let u = user(mix);
    let (a, b) = (u / 250, u % 250);
    let host = host(mix);
    format!("<14>Nov {d} {h:02}:{m:02}:{s:02} fw01 1,2026/11/{d} {h:02}:{m:02}:{s:02},013201001234,THREAT,url,2305,2026/11/{d} {h:02}:{m:02}:{s:02},10.1.{a}.{b},104.26.4.17,89.160.20.113,104.26.4.17,allow-web,corp\\user{u},,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,2026/11/{d} {h:02}:{m:02}:{s:02},{i},1,{},443,40112,443,0x408000,tcp,alert,\"{host}/{}\",(9999),computer-and-internet-info,informational,client-to-server,1123,0x0,10.0.0.0-10.255.255.255,United States,0,,0,,", 49152 + mix.below(16000), if mix.chance(100) { "upload" } else { "index.html" })
}

/// A FortiGate traffic log line.
pub fn fortigate(mix: &mut Mix, i: usize) -> String {
    let (d, h, m, s) = clock(i);
    let u = user(mix);
    let host = host(mix);
    format!("date=2026-11-{d} time={h:02}:{m:02}:{s:02} devname=\"FGT-HQ\" devid=\"FG100FTK20000001\" eventtime={} tz=\"+0000\" logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" srcip=10.2.{}.{} srcport={} srcintf=\"port2\" dstip=162.125.{}.{} dstport=443 dstintf=\"wan1\" sessionid={i} proto=6 action=\"close\" policyid=12 user=\"user{u}\" service=\"HTTPS\" app=\"HTTPS.BROWSER\" duration=12 sentbyte={} rcvdbyte={} hostname=\"{host}\" utmaction=\"allow\"", 1_795_550_400 + i / 40, u / 250, u % 250, 49152 + mix.below(16000), mix.below(256), mix.below(256), 200 + mix.below(50_000), 1000 + mix.below(500_000))
}

/// The ten destinations of the FortiGate benchmark file: (host name,
/// address); three are shadow SaaS in the catalog, the addresses are in
/// the MaxMind test databases where they can be.
pub const FORTIGATE_BENCH_HOSTS: &[(&str, &str)] = &[
    ("teams.microsoft.com", "52.112.10.20"),
    ("outlook.office365.com", "52.97.146.2"),
    ("www.google.com", "216.160.83.60"),
    ("corp.slack.com", "89.160.20.128"),
    ("www.bbc.co.uk", "81.2.69.160"),
    ("en.wikipedia.org", "2.125.160.220"),
    ("updates.vendor.example", "175.16.199.5"),
    ("wetransfer.com", "67.43.156.5"),
    ("chatgpt.com", "149.101.100.5"),
    ("www.ilovepdf.com", "214.214.214.220"),
];

/// A full FortiOS 7 `traffic/forward` line of about 670 bytes, the shape
/// of the performance target (issue 20): 2,000 users, the ten destinations
/// of [`FORTIGATE_BENCH_HOSTS`] in equal shares, 40 lines a second.
pub fn fortigate_full(mix: &mut Mix, i: usize) -> String {
    let (d, h, m, s) = clock(i);
    let u = user(mix);
    let (host, dst) = FORTIGATE_BENCH_HOSTS[mix.below(FORTIGATE_BENCH_HOSTS.len())];
    let port = 49152 + mix.below(16000);
    let (sent, rcvd) = (200 + mix.below(50_000), 1000 + mix.below(500_000));
    format!("date=2026-11-{d} time={h:02}:{m:02}:{s:02} devname=\"FGT-HQ\" devid=\"FG100FTK20000001\" eventtime={}{:09} tz=\"+0000\" logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" srcip=10.2.{}.{} srcport={port} srcintf=\"port2\" dstip={dst} dstport=443 dstintf=\"wan1\" srccountry=\"Reserved\" dstcountry=\"United States\" sessionid={i} proto=6 action=\"close\" policyid=12 policytype=\"policy\" policyname=\"LAN-to-WAN\" user=\"user{u}\" service=\"HTTPS\" trandisp=\"snat\" appid=40568 app=\"HTTPS.BROWSER\" appcat=\"Web.Client\" apprisk=\"medium\" duration={} sentbyte={sent} rcvdbyte={rcvd} sentpkt={} rcvdpkt={} hostname=\"{host}\" utmaction=\"allow\" countweb=1", 1_795_550_400 + i / 40, mix.below(1_000_000_000), u / 250, u % 250, 1 + mix.below(600), 2 + sent / 700, 2 + rcvd / 1400)
}

/// Write the FortiGate benchmark file (`fortigate.log`, `records` lines of
/// [`fortigate_full`]) into `dir`; returns its path.
pub fn write_fortigate(dir: &Path, records: usize) -> std::io::Result<std::path::PathBuf> {
    let path = dir.join("fortigate.log");
    let mut mix = Mix::new(20);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    for i in 0..records {
        writeln!(w, "{}", fortigate_full(&mut mix, i))?;
    }
    w.flush()?;
    Ok(path)
}

/// The header block of a Zeek conn.log (TSV).
pub const ZEEK_CONN_HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]";

/// A Zeek conn.log TSV line.
pub fn zeek_conn(mix: &mut Mix, i: usize) -> String {
    let u = user(mix);
    let (ob, rb) = (mix.below(20_000), mix.below(400_000));
    format!("{}.{:06}\tC{i:x}\t10.3.{}.{}\t{}\t52.96.{}.{}\t443\ttcp\tssl\t1.5\t{ob}\t{rb}\tSF\tT\tF\t0\tShADadFf\t12\t{}\t14\t{}\t(empty)", 1_795_550_400 + i / 40, i % 1_000_000, u / 250, u % 250, 49152 + mix.below(16000), mix.below(256), mix.below(256), ob + 600, rb + 700)
}

/// A Zeek dns.log JSON line.
pub fn zeek_dns_json(mix: &mut Mix, i: usize) -> String {
    let u = user(mix);
    let q = if mix.chance(20) { mix.pick(SHADOW_HOSTS) } else { mix.pick(DNS_NAMES) };
    format!("{{\"ts\":{}.{:06},\"uid\":\"D{i:x}\",\"id.orig_h\":\"10.4.{}.{}\",\"id.orig_p\":{},\"id.resp_h\":\"10.0.0.2\",\"id.resp_p\":53,\"proto\":\"udp\",\"trans_id\":{},\"query\":\"{q}\",\"qclass\":1,\"qclass_name\":\"C_INTERNET\",\"qtype\":1,\"qtype_name\":\"A\",\"rcode\":0,\"rcode_name\":\"NOERROR\",\"AA\":false,\"TC\":false,\"RD\":true,\"RA\":true,\"Z\":0,\"answers\":[\"192.0.2.{}\"],\"TTLs\":[300.0],\"rejected\":false}}", 1_795_550_400 + i / 40, i % 1_000_000, u / 250, u % 250, 1024 + mix.below(60000), mix.below(65535), mix.below(256))
}

/// A BIND 9 query-log line.
pub fn bind_query(mix: &mut Mix, i: usize) -> String {
    let (d, h, m, s) = clock(i);
    let u = user(mix);
    let q = if mix.chance(20) { mix.pick(SHADOW_HOSTS) } else { mix.pick(DNS_NAMES) };
    format!("{d}-Nov-2026 {h:02}:{m:02}:{s:02}.{:03} queries: info: client @0x7f91b8005490 10.5.{}.{}#{} ({q}): query: {q} IN A +E(0)K (10.0.0.2)", i % 1000, u / 250, u % 250, 1024 + mix.below(60000))
}

/// A Cisco Umbrella DNS log line (S3 CSV export).
pub fn umbrella(mix: &mut Mix, i: usize) -> String {
    let (d, h, m, s) = clock(i);
    let u = user(mix);
    let q = if mix.chance(20) { mix.pick(SHADOW_HOSTS) } else { mix.pick(DNS_NAMES) };
    format!("\"2026-11-{d} {h:02}:{m:02}:{s:02}\",\"User {u} (user{u}@corp.example.com)\",\"User {u} (user{u}@corp.example.com),LAPTOP-{u},Lisbon Office\",\"10.6.{}.{}\",\"89.160.20.113\",\"Allowed\",\"1 (A)\",\"NOERROR\",\"{q}.\",\"Software/Technology\",\"AD Users\",\"AD Users,Roaming Computers,Networks\",\"\"", u / 250, u % 250)
}

/// An Okta System Log sign-in.
pub fn okta_signin(mix: &mut Mix, i: usize) -> String {
    let (d, h, m, s) = clock(i);
    let u = user(mix);
    let ip = mix.pick(SIGNIN_IPS);
    let os = if mix.chance(300) { "iOS" } else { "Windows 10" };
    format!("{{\"uuid\":\"s{i}\",\"published\":\"2026-11-{d}T{h:02}:{m:02}:{s:02}.000Z\",\"eventType\":\"user.session.start\",\"version\":\"0\",\"severity\":\"INFO\",\"displayMessage\":\"User login to Okta\",\"actor\":{{\"id\":\"00u{u}\",\"type\":\"User\",\"alternateId\":\"user{u}@corp.example.com\",\"displayName\":\"User {u}\"}},\"client\":{{\"userAgent\":{{\"rawUserAgent\":\"Mozilla/5.0\",\"os\":\"{os}\",\"browser\":\"CHROME\"}},\"device\":\"Computer\",\"ipAddress\":\"{ip}\"}},\"outcome\":{{\"result\":\"SUCCESS\"}},\"target\":[],\"debugContext\":{{\"debugData\":{{}}}}}}")
}

/// An Entra ID sign-in (Graph signIn form).
pub fn entra_signin(mix: &mut Mix, i: usize) -> String {
    let (d, h, m, s) = clock(i);
    let u = user(mix);
    let ip = mix.pick(SIGNIN_IPS);
    format!("{{\"id\":\"e{i}\",\"createdDateTime\":\"2026-11-{d}T{h:02}:{m:02}:{s:02}Z\",\"userDisplayName\":\"User {u}\",\"userPrincipalName\":\"user{u}@corp.example.com\",\"appId\":\"00000002-0000-0ff1-ce00-000000000000\",\"appDisplayName\":\"Office 365 Exchange Online\",\"ipAddress\":\"{ip}\",\"clientAppUsed\":\"Browser\",\"isInteractive\":true,\"status\":{{\"errorCode\":0}},\"deviceDetail\":{{\"operatingSystem\":\"Windows10\",\"browser\":\"Edge 131\"}},\"location\":{{\"city\":\"Lisbon\",\"countryOrRegion\":\"PT\"}}}}")
}

/// An M365 Unified Audit Log record: mostly harmless mailbox operations, a
/// few inbox rules (some forwarding out).
pub fn m365_audit(mix: &mut Mix, i: usize) -> String {
    let (d, h, m, s) = clock(i);
    let u = user(mix);
    if mix.chance(900) {
        return format!("{{\"CreationTime\":\"2026-11-{d}T{h:02}:{m:02}:{s:02}\",\"Id\":\"a{i}\",\"Operation\":\"Set-Mailbox\",\"ResultStatus\":\"True\",\"Workload\":\"Exchange\",\"ClientIP\":\"89.160.20.116\",\"ObjectId\":\"user{u}@corp.example.com\",\"UserId\":\"user{u}@corp.example.com\",\"Parameters\":[{{\"Name\":\"Identity\",\"Value\":\"user{u}@corp.example.com\"}},{{\"Name\":\"AuditEnabled\",\"Value\":\"True\"}}]}}");
    }
    let dest = if mix.chance(300) { format!("user{u}@gmail.com") } else { format!("team{}@corp.example.com", u % 20) };
    format!("{{\"CreationTime\":\"2026-11-{d}T{h:02}:{m:02}:{s:02}\",\"Id\":\"a{i}\",\"Operation\":\"New-InboxRule\",\"ResultStatus\":\"True\",\"Workload\":\"Exchange\",\"ClientIP\":\"89.160.20.116:5{}\",\"ObjectId\":\"user{u}@corp.example.com\\\\r{i}\",\"UserId\":\"user{u}@corp.example.com\",\"Parameters\":[{{\"Name\":\"Name\",\"Value\":\"r{i}\"}},{{\"Name\":\"ForwardTo\",\"Value\":\"{dest}\"}}]}}", i % 1000)
}

/// The files of the realistic mix: (file name, format, share of records in
/// per-mille, line generator). Shares follow a typical enterprise's log
/// volumes: firewall and proxy logs first, DNS next, identity and mail
/// audit a few percent.
#[allow(clippy::type_complexity)]
pub const REALISTIC: &[(&str, &str, usize, fn(&mut Mix, usize) -> String)] = &[
    ("panos-traffic.log", "panos", 300, panos_traffic),
    ("panos-url.log", "panos", 120, panos_url),
    ("fortigate.log", "fortigate", 80, fortigate),
    ("zeek-conn.log", "zeek-conn", 70, zeek_conn),
    ("zeek-dns.log", "zeek-dns", 160, zeek_dns_json),
    ("bind.log", "bind-query", 100, bind_query),
    ("umbrella.csv", "umbrella-dns", 100, umbrella),
    ("okta.log", "okta", 30, okta_signin),
    ("entra-signin.log", "entra-signin", 30, entra_signin),
    ("m365.log", "m365-audit", 10, m365_audit),
];

/// Write `records` lines of the realistic mix into `dir`, one file per
/// format (Zeek TSV with its header block). Returns the files and formats.
pub fn write_realistic(dir: &Path, records: usize) -> std::io::Result<Vec<(String, &'static str)>> {
    let mut files = Vec::new();
    for (n, (name, format, share, line)) in REALISTIC.iter().enumerate() {
        let count = records * share / 1000;
        let mut mix = Mix::new(n as u64 + 1);
        let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join(name))?);
        if *format == "zeek-conn" {
            writeln!(w, "{ZEEK_CONN_HEADER}")?;
        }
        for i in 0..count {
            writeln!(w, "{}", line(&mut mix, i))?;
        }
        w.flush()?;
        files.push((name.to_string(), *format));
    }
    Ok(files)
}
