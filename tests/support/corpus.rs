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

/// The four families, with the format id floodlight reads them as.
pub const FAMILIES: &[(&str, &str)] =
    &[("panos", "panos"), ("dns", "zeek-dns"), ("okta", "okta"), ("m365", "m365-audit")];

/// Line `i` of a PAN-OS syslog stream (THREAT/url and TRAFFIC alternate).
pub fn panos(i: usize) -> String {
    let host = HOSTS[i % HOSTS.len()];
    let user = format!("corp\\user{}", i % 500);
    let (m, s, a, b) = ((i / 60) % 60, i % 60, (i / 250) % 250, i % 250);
    if i % 2 == 0 {
        format!("<14>Nov 24 09:12:03 fw01 1,2026/11/24 09:12:03,013201001234,THREAT,url,2305,2026/11/24 09:{m:02}:{s:02},10.0.{a}.{b},104.26.4.17,89.160.20.113,104.26.4.17,allow-web,{user},,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,2026/11/24 09:12:03,{i},1,51544,443,40112,443,0x408000,tcp,alert,\"{host}\",(9999),online-storage-and-backup,informational,client-to-server,1123,0x0,10.0.0.0-10.255.255.255,United States,0,,0,,")
    } else {
        format!("<14>Nov 24 09:12:03 fw01 1,2026/11/24 09:12:03,013201001234,TRAFFIC,end,2305,2026/11/24 09:{m:02}:{s:02},10.0.{a}.{b},52.112.0.10,89.160.20.113,52.112.0.10,allow-web,{user},,ms-teams,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,2026/11/24 09:12:03,{i},1,51000,443,52000,443,0x400053,tcp,allow,960213,48213,912000,42,2026/11/24 09:12:03,12,computer-and-internet-info,0,{i},0x0,10.0.0.0-10.255.255.255,United States,0,21,21,tcp-fin")
    }
}

/// Line `i` of a Zeek dns.log in JSON.
pub fn zeek_dns(i: usize) -> String {
    format!("{{\"ts\":{}.5,\"uid\":\"C{i}\",\"id.orig_h\":\"10.0.{}.{}\",\"id.orig_p\":53211,\"id.resp_h\":\"10.0.0.2\",\"id.resp_p\":53,\"proto\":\"udp\",\"query\":\"{}\",\"qtype_name\":\"A\",\"rcode_name\":\"NOERROR\",\"answers\":[\"192.0.2.10\"]}}", 1795510800 + (i % 3600), (i / 250) % 250, i % 250, QUERIES[i % QUERIES.len()])
}

/// Line `i` of an Okta System Log export (sign-ins; every third from iOS).
pub fn okta(i: usize) -> String {
    let ip = IPS[i % IPS.len()];
    let os = if i % 3 == 0 { "iOS" } else { "Windows 10" };
    format!("{{\"uuid\":\"u{i}\",\"published\":\"2026-11-24T08:{:02}:{:02}.000Z\",\"eventType\":\"user.session.start\",\"actor\":{{\"id\":\"00u{i}\",\"type\":\"User\",\"alternateId\":\"user{}@corp.example.com\",\"displayName\":\"User {}\"}},\"client\":{{\"userAgent\":{{\"rawUserAgent\":\"Mozilla/5.0\",\"os\":\"{os}\"}},\"device\":\"Computer\",\"ipAddress\":\"{ip}\"}},\"outcome\":{{\"result\":\"SUCCESS\"}},\"target\":[]}}", (i / 60) % 60, i % 60, i % 500, i % 500)
}

/// Line `i` of an M365 Unified Audit Log export (inbox rules forwarding out;
/// every second one to Gmail).
pub fn m365(i: usize) -> String {
    let dest =
        if i % 2 == 0 { format!("user{}@gmail.com", i % 500) } else { format!("ops{}@partner.example.net", i % 50) };
    format!("{{\"CreationTime\":\"2026-11-24T10:{:02}:{:02}\",\"Id\":\"m{i}\",\"Operation\":\"New-InboxRule\",\"ResultStatus\":\"True\",\"Workload\":\"Exchange\",\"ClientIP\":\"89.160.20.116:5{}\",\"ObjectId\":\"user{}@corp.example.com\\\\r\",\"UserId\":\"user{}@corp.example.com\",\"Parameters\":[{{\"Name\":\"Name\",\"Value\":\"r{i}\"}},{{\"Name\":\"ForwardTo\",\"Value\":\"{dest}\"}},{{\"Name\":\"DeleteMessage\",\"Value\":\"True\"}}]}}", (i / 60) % 60, i % 60, i % 1000, i % 500, i % 500)
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
