//! Generated traffic for the determinism tests (files and Kafka): firewall
//! lines of 60 people reaching GenAI, storage and converter apps, Okta
//! sign-ins (some from a café's Wi-Fi) and OAuth consents, with what the
//! windowed (SS-03) and correlation (WF-03) rules must count; and reading the
//! findings a run wrote.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// 2026-11-24 00:00:00 UTC.
pub const DAY: u64 = 1_795_478_400;

/// A small deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub fn hhmmss(t: u64) -> (String, String) {
    let s = t - DAY;
    ("2026-11-24".to_string(), format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60))
}

/// One FortiGate traffic line: `user` on `ip` sent `sent` bytes to `host` at `t`.
pub fn fortigate(device: &str, t: u64, session: u64, user: &str, ip: &str, host: &str, sent: u64) -> String {
    let (date, time) = hhmmss(t);
    format!(
        "date={date} time={time} devname=\"{device}\" devid=\"FG100FTK2000000{}\" tz=\"+0000\" logid=\"0000000013\" \
         type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" srcip={ip} srcport=51544 \
         srcintf=\"port2\" dstip=162.125.1.18 dstport=443 dstintf=\"wan1\" sessionid={session} proto=6 \
         action=\"close\" policyid=12 user=\"{user}\" service=\"HTTPS\" app=\"HTTPS.BROWSER\" duration=42 \
         sentbyte={sent} rcvdbyte=8834 hostname=\"{host}\" utmaction=\"allow\"\n",
        device.len() % 10
    )
}

pub fn rfc3339(t: u64) -> String {
    let (date, time) = hhmmss(t);
    format!("{date}T{time}.000Z")
}

/// An Okta sign-in of `user` from `ip` at `t`.
pub fn signin(uuid: &str, t: u64, user: &str, ip: &str) -> String {
    format!(
        "{{\"uuid\": \"{uuid}\", \"published\": \"{}\", \"eventType\": \"user.session.start\", \"actor\": {{\"id\": \"00u1\", \"type\": \"User\", \"alternateId\": \"{user}\", \"displayName\": \"{user}\"}}, \"client\": {{\"userAgent\": {{\"rawUserAgent\": \"Mozilla/5.0\", \"os\": \"Windows 10\"}}, \"device\": \"Computer\", \"ipAddress\": \"{ip}\"}}, \"outcome\": {{\"result\": \"SUCCESS\"}}, \"target\": []}}\n",
        rfc3339(t)
    )
}

/// An Okta OAuth consent of `user` to Otter.ai at `t`.
pub fn consent(uuid: &str, t: u64, user: &str) -> String {
    format!(
        "{{\"uuid\": \"{uuid}\", \"published\": \"{}\", \"eventType\": \"app.oauth2.as.consent.grant\", \"actor\": {{\"id\": \"00u1\", \"type\": \"User\", \"alternateId\": \"{user}\", \"displayName\": \"{user}\"}}, \"client\": {{\"userAgent\": {{\"rawUserAgent\": \"Mozilla/5.0\", \"os\": \"Windows 10\"}}, \"device\": \"Computer\", \"ipAddress\": \"10.1.1.1\"}}, \"outcome\": {{\"result\": \"SUCCESS\"}}, \"target\": [{{\"id\": \"0oa1\", \"type\": \"PublicClientApp\", \"alternateId\": \"Otter.ai\", \"displayName\": \"Otter.ai\"}}], \"debugContext\": {{\"debugData\": {{\"clientId\": \"0oa1\", \"grantedScopes\": \"openid\"}}}}}}\n",
        rfc3339(t)
    )
}

/// Hosts people reach: (host, app id, bytes up to).
pub const HOSTS: &[(&str, &str, u64)] = &[
    ("chatgpt.com", "chatgpt", 400_000),
    ("www.dropbox.com", "dropbox", 30_000_000),
    ("www.ilovepdf.com", "ilovepdf", 2_000_000),
    ("wetransfer.com", "wetransfer", 20_000_000),
    ("www.example.org", "", 50_000),
    ("login.microsoftonline.com", "", 20_000),
];

/// What the generator expects of SS-03: per (user, hour start), (requests, bytes) to ChatGPT.
pub type GenAiHours = BTreeMap<(String, u64), (i64, i64)>;

/// The generated input: files and what SS-03 and WF-03 must count.
pub struct Input {
    pub files: Vec<(String, String, String)>,
    /// A Zeek DNS log that names no user: queries from people's desks,
    /// some to AnyDesk (not in `files`: the Kafka test has no DNS topic).
    pub dns: (String, String, String),
    /// SS-05: the people whose desk resolved AnyDesk (the firewalls name
    /// them on the same addresses).
    pub anydesk_users: BTreeSet<String>,
    pub genai: GenAiHours,
    /// WF-03: per (user, hour of the sign-in), the distinct sign-ins and consents paired.
    pub pairs: BTreeMap<(String, u64), BTreeSet<String>>,
}

pub fn generate(per_device: u64) -> Input {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let users: Vec<String> = (0..60).map(|i| format!("user{i:02}")).collect();
    let start = DAY + 6 * 3600;
    let span = 12 * 3600;
    let mut genai = GenAiHours::new();
    let firewall = |device: &str, records: u64, jitter: u64, rng: &mut Rng, genai: &mut GenAiHours| -> String {
        // (time, line) in the order they are written.
        let mut lines: Vec<(u64, String)> = Vec::new();
        for i in 0..records {
            let t = start + i * span / records;
            let u = rng.below(users.len() as u64) as usize;
            let (host, app, max) = HOSTS[rng.below(HOSTS.len() as u64) as usize];
            let sent = 1 + rng.below(max);
            let ip = format!("10.20.{}.{}", u / 200, u % 200 + 10);
            lines.push((t, fortigate(device, t, i, &users[u], &ip, host, sent)));
            if app == "chatgpt" {
                let e = genai.entry((users[u].clone(), t / 3600 * 3600)).or_default();
                e.0 += 1;
                e.1 += sent as i64;
            }
        }
        if jitter > 0 {
            // Records written out of order, by up to `jitter` seconds.
            for block in lines.chunks_mut(40) {
                for i in (1..block.len()).rev() {
                    let j = (rng.below(i as u64 + 1)) as usize;
                    if block[i].0.abs_diff(block[j].0) <= jitter {
                        block.swap(i, j);
                    }
                }
            }
        }
        lines.into_iter().map(|(_, l)| l).collect()
    };
    let hq = firewall("FGT-HQ", per_device, 0, &mut rng, &mut genai);
    let branch = firewall("FGT-BRANCH", per_device, 25, &mut rng, &mut genai);
    let emails: Vec<String> = users.iter().take(40).map(|u| format!("{u}@corp.example.com")).collect();
    let mut signins = String::new();
    let mut signin_times: Vec<(u64, String, String)> = Vec::new();
    for i in 0..3_000u64 {
        let t = start + i * span / 3_000;
        let u = rng.below(emails.len() as u64) as usize;
        // One in five from a café's public Wi-Fi.
        let public = rng.below(5) == 0;
        let ip = if public { "214.214.214.216" } else { "10.0.0.20" };
        let id = format!("s{i}");
        signins.push_str(&signin(&id, t, &emails[u], ip));
        if public {
            signin_times.push((t, emails[u].clone(), id));
        }
    }
    let mut consents = String::new();
    let mut consent_times: Vec<(u64, String, String)> = Vec::new();
    for i in 0..1_000u64 {
        let t = start + 17 + i * span / 1_000;
        let u = rng.below(emails.len() as u64) as usize;
        let id = format!("c{i}");
        consents.push_str(&consent(&id, t, &emails[u]));
        consent_times.push((t, emails[u].clone(), id));
    }
    let mut pairs: BTreeMap<(String, u64), BTreeSet<String>> = BTreeMap::new();
    for (ts, user, sid) in &signin_times {
        for (tc, u2, cid) in &consent_times {
            if u2 == user && tc >= ts && tc - ts <= 3600 {
                let p = pairs.entry((user.clone(), ts / 3600 * 3600)).or_default();
                p.insert(sid.clone());
                p.insert(cid.clone());
            }
        }
    }
    // DNS from the desks, from half an hour in (every desk has been seen
    // by then); one query in ten to AnyDesk.
    let mut dns_rng = Rng(0xd15_0000_0000_0005);
    let mut dns = String::new();
    let mut anydesk_users = BTreeSet::new();
    for i in 0..1_500u64 {
        let t = start + 1800 + i * (span - 3600) / 1_500;
        let u = dns_rng.below(users.len() as u64) as usize;
        let ip = format!("10.20.{}.{}", u / 200, u % 200 + 10);
        let query = if i % 10 == 3 {
            anydesk_users.insert(users[u].clone());
            format!("relay-{i}.net.anydesk.com")
        } else {
            "www.example.org".to_string()
        };
        dns.push_str(&format!(
            "{{\"ts\": {t}.0, \"uid\": \"D{i}\", \"id.orig_h\": \"{ip}\", \"id.orig_p\": 53211, \"id.resp_h\": \"10.0.0.2\", \"id.resp_p\": 53, \"proto\": \"udp\", \"query\": \"{query}\", \"qtype_name\": \"A\", \"rcode_name\": \"NOERROR\", \"answers\": [\"192.0.2.10\"]}}\n"
        ));
    }
    Input {
        dns: ("dns.log".into(), "zeek-dns".into(), dns),
        anydesk_users,
        files: vec![
            ("fw-hq.log".into(), "fortigate".into(), hq),
            ("fw-branch.log".into(), "fortigate".into(), branch),
            ("okta-signin.log".into(), "okta".into(), signins),
            ("okta-consent.log".into(), "okta".into(), consents),
        ],
        genai,
        pairs,
    }
}

/// The last revision of each finding, without the wall-clock `detected_at`;
/// asserts the revisions of each finding were written 1, 2, 3... in order.
pub fn final_revisions(findings: &[Value]) -> BTreeMap<String, Value> {
    let mut last: BTreeMap<String, Value> = BTreeMap::new();
    for f in findings {
        let id = f["finding_id"].as_str().unwrap().to_string();
        let rev = f["revision"].as_i64().unwrap();
        let before = last.get(&id).map_or(0, |p| p["revision"].as_i64().unwrap());
        assert_eq!(rev, before + 1, "revision {rev} of {id} written after revision {before}");
        let mut f = f.clone();
        f.as_object_mut().unwrap().remove("detected_at");
        last.insert(id, f);
    }
    last
}

pub fn by_rule<'a>(findings: &'a BTreeMap<String, Value>, rule: &str) -> Vec<&'a Value> {
    findings.values().filter(|f| f["rule_id"] == rule).collect()
}

pub fn hour_of(f: &Value) -> u64 {
    let first = f["first_seen"].as_str().unwrap();
    let hh: u64 = first[11..13].parse().unwrap();
    DAY + hh * 3600
}
