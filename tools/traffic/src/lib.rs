//! Realistic callback traffic: whole calls, each scripted as the POSTs ACS would send for it, in the
//! three wire formats. Written piece by piece into byte buffers rather than with `format!` or a JSON
//! library: the generator shares the cores with the server it measures, so every microsecond it
//! spends per event is taken from the system under test.
//!
//! Every event carries a token (sender, call, event index) that the database check reads back: in
//! the CloudEvent `id` (its last two groups) or, for A1 events whose `id` is null, at the end of
//! the `subject`.

use std::collections::VecDeque;

/// xorshift64*: fast, good enough for ids and padding, and reproducible per sender.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) * 100.0 < percent
    }

    /// A random v4 uuid, lower-case.
    fn push_uuid(&mut self, out: &mut Vec<u8>) {
        let a = self.next_u64();
        let b = self.next_u64();
        push_uuid_parts(out, a, 0x8000 | ((b >> 48) & 0x3fff), b & 0xffff_ffff_ffff);
    }

    fn uuid(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(36);
        self.push_uuid(&mut out);
        out
    }

    /// A v4-looking uuid whose last two groups are `token`.
    fn push_event_id(&mut self, token: u64, out: &mut Vec<u8>) {
        let a = self.next_u64();
        push_uuid_parts(out, a, token >> 48, token & 0xffff_ffff_ffff);
    }

    /// `n` characters of URL-safe base64 alphabet.
    fn push_b64(&mut self, n: usize, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + n, 0);
        self.fill_b64(&mut out[start..]);
    }

    fn fill_b64(&mut self, out: &mut [u8]) {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for chunk in out.chunks_mut(10) {
            let mut bits = self.next_u64();
            for slot in chunk {
                *slot = ALPHABET[(bits & 63) as usize];
                bits >>= 6;
            }
        }
    }
}

/// `xxxxxxxx-xxxx-4xxx-` from `a`, then the fourth group and the last 48 bits as given.
fn push_uuid_parts(out: &mut Vec<u8>, a: u64, fourth: u64, last: u64) {
    push_hex(out, a >> 32, 8);
    out.push(b'-');
    push_hex(out, (a >> 16) & 0xffff, 4);
    out.extend_from_slice(b"-4");
    push_hex(out, a & 0xfff, 3);
    out.push(b'-');
    push_hex(out, fourth, 4);
    out.push(b'-');
    push_hex(out, last, 12);
}

/// The low `digits` hex digits of `value`, zero-padded, lower-case.
fn push_hex(out: &mut Vec<u8>, value: u64, digits: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let start = out.len();
    out.resize(start + digits, b'0');
    let mut v = value;
    for slot in out[start..].iter_mut().rev() {
        *slot = HEX[(v & 15) as usize];
        v >>= 4;
    }
}

/// `value` in decimal, zero-padded to at least `width` digits.
pub fn push_decimal(out: &mut Vec<u8>, value: u64, width: usize) {
    let mut buf = [0u8; 20];
    let digits = decimal(value, &mut buf);
    out.resize(out.len() + width.saturating_sub(digits.len()), b'0');
    out.extend_from_slice(digits);
}

/// The decimal digits of `value`, written at the end of `buf`.
pub fn decimal(value: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    let mut v = value;
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[at..]
}

fn push_bool(out: &mut Vec<u8>, value: bool) {
    out.extend_from_slice(if value { b"true" } else { b"false" });
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2024-05-01T12:34:56.1234567` then `zone`: the 7 fractional digits ACS writes.
fn push_time(out: &mut Vec<u8>, unix_nanos: i64, zone: &str) {
    let secs = unix_nanos.div_euclid(1_000_000_000);
    let nanos = unix_nanos.rem_euclid(1_000_000_000) as u64;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400) as u64;
    // Filled in place and appended once: the fields are fixed-width.
    let mut text = *b"0000-00-00T00:00:00.0000000";
    put_digits(&mut text[0..4], year.clamp(0, 9999) as u64);
    put_digits(&mut text[5..7], month);
    put_digits(&mut text[8..10], day);
    put_digits(&mut text[11..13], of_day / 3600);
    put_digits(&mut text[14..16], of_day / 60 % 60);
    put_digits(&mut text[17..19], of_day % 60);
    put_digits(&mut text[20..27], nanos / 100);
    out.extend_from_slice(&text);
    out.extend_from_slice(zone.as_bytes());
}

/// The low digits of `value`, zero-padded to fill `slot`.
fn put_digits(slot: &mut [u8], value: u64) {
    let mut v = value;
    for digit in slot.iter_mut().rev() {
        *digit = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Appending to a byte buffer in a chain: `out.s("a").s(&id).s("b")`.
trait Put {
    fn s(&mut self, s: impl AsRef<[u8]>) -> &mut Self;
}

impl Put for Vec<u8> {
    fn s(&mut self, s: impl AsRef<[u8]>) -> &mut Self {
        self.extend_from_slice(s.as_ref());
        self
    }
}

/// The event token the database check reads back from a stored row: `event_id` for CloudEvents,
/// else the `subject` of an A1 event.
pub fn token_of(event_id: Option<&str>, subject: Option<&str>) -> Option<u64> {
    if let Some(id) = event_id {
        let mut groups = id.rsplit('-');
        let low = u64::from_str_radix(groups.next()?, 16).ok()?;
        let high = u64::from_str_radix(groups.next()?, 16).ok()?;
        return Some(high << 48 | low);
    }
    let hex = subject?.rsplit('-').next()?;
    u64::from_str_radix(hex, 16).ok()
}

/// Share of calls sent in each wire format.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    pub b: u32,
    pub a2: u32,
    pub a1: u32,
}

impl std::str::FromStr for Mix {
    type Err = String;

    /// `b=60,a2=20,a1=20`
    fn from_str(s: &str) -> Result<Mix, String> {
        let mut mix = Mix { b: 0, a2: 0, a1: 0 };
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("expected format=weight, got {part:?}"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("weight of {name} is not a whole number"))?;
            match name.trim() {
                "b" => mix.b = weight,
                "a2" => mix.a2 = weight,
                "a1" => mix.a1 = weight,
                other => return Err(format!("unknown format {other:?} (b, a2, a1)")),
            }
        }
        if mix.b + mix.a2 + mix.a1 == 0 {
            return Err("at least one format needs a weight above 0".to_owned());
        }
        Ok(mix)
    }
}

/// Most events one POST carries (three DTMF tones in one array).
const MAX_EVENTS_PER_POST: usize = 3;

/// The tokens of one POST's events, in order.
#[derive(Clone, Copy, Default)]
pub struct Tokens {
    len: u8,
    tokens: [u64; MAX_EVENTS_PER_POST],
}

impl Tokens {
    fn push(&mut self, token: u64) {
        self.tokens[usize::from(self.len)] = token;
        self.len += 1;
    }

    pub fn as_slice(&self) -> &[u64] {
        &self.tokens[..usize::from(self.len)]
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// `msg_` and 24 random base64url characters.
#[derive(Clone, Copy)]
pub struct WebhookId([u8; 28]);

impl WebhookId {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// One POST: the body, its Standard Webhooks message id (kept when re-sent, as a retrying sender
/// does), and the tokens of its events.
pub struct Delivery {
    pub body: Vec<u8>,
    pub webhook_id: WebhookId,
    pub tokens: Tokens,
}

/// Buffers reused from call to call.
#[derive(Default)]
struct Scratch {
    /// The pieces of one event that are written out of drawing order.
    context: Vec<u8>,
    data: Vec<u8>,
    /// Bodies already sent, for the next POSTs.
    bodies: Vec<Vec<u8>>,
}

impl Scratch {
    fn body(&mut self) -> Vec<u8> {
        self.bodies
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(4096))
    }
}

/// When each call's events are dated.
#[derive(Debug, Clone, Copy)]
pub enum CallStart {
    /// Ten minutes before the call is scripted, as a replay of recent calls.
    TenMinutesAgo,
    /// Always at this time (Unix nanoseconds): traffic that does not depend on when it is made,
    /// for the request-path microbenchmark (benches/ingest_path.rs includes this module; the
    /// generator itself never asks for it).
    #[allow(dead_code)]
    At(i64),
}

/// Endless traffic for one sender: call after call, each call's POSTs in order. With several calls
/// open at once, their POSTs take turns, so each call's POSTs are spread out in time as a real
/// call's are (the call model then sees a call over many passes).
pub struct Traffic {
    rng: Rng,
    sender: u16,
    calls: u32,
    mix: Mix,
    /// The ACS resource all calls belong to.
    resource: Vec<u8>,
    start: CallStart,
    /// The POSTs still to send of each open call, in turn order.
    open: VecDeque<VecDeque<Delivery>>,
    open_calls: usize,
    scratch: Scratch,
}

impl Traffic {
    pub fn new(sender: u16, seed: u64, mix: Mix, start: CallStart) -> Traffic {
        let mut rng = Rng::new(seed ^ (u64::from(sender) << 32) ^ 0x5eed);
        let resource = rng.uuid();
        Traffic {
            rng,
            sender,
            calls: 0,
            mix,
            resource,
            start,
            open: VecDeque::new(),
            open_calls: 1,
            scratch: Scratch::default(),
        }
    }

    /// Keeps `n` calls open at once (at least one): their POSTs take turns. One gives each call's
    /// POSTs back to back, and the same traffic as earlier versions for a seed.
    pub fn with_open_calls(mut self, n: usize) -> Traffic {
        self.open_calls = n.max(1);
        self
    }

    pub fn next_delivery(&mut self) -> Delivery {
        loop {
            while self.open.len() < self.open_calls {
                self.script_call();
            }
            let Some(mut call) = self.open.pop_front() else {
                continue;
            };
            if let Some(d) = call.pop_front() {
                if !call.is_empty() {
                    self.open.push_back(call);
                }
                return d;
            }
        }
    }

    /// Takes back a delivery that will not be sent again, to write a later POST into its body.
    pub fn recycle(&mut self, delivery: Delivery) {
        if self.scratch.bodies.len() < 8 {
            self.scratch.bodies.push(delivery.body);
        }
    }

    fn script_call(&mut self) {
        let call_no = self.calls;
        self.calls = self.calls.wrapping_add(1);
        let total = u64::from(self.mix.b + self.mix.a2 + self.mix.a1);
        let pick = self.rng.below(total) as u32;
        let clock = match self.start {
            CallStart::TenMinutesAgo => call_clock_start(),
            CallStart::At(unix_nanos) => unix_nanos,
        };
        let rng = &mut self.rng;
        let scratch = &mut self.scratch;
        let mut call = Call::new(rng, self.sender, call_no, &self.resource, clock);
        let mut posts = VecDeque::with_capacity(8);
        let mut add = |post: Post| {
            posts.push_back(Delivery {
                body: post.body,
                webhook_id: WebhookId([0; 28]),
                tokens: post.tokens,
            })
        };
        if pick < self.mix.b {
            call.script_b(rng, scratch, &mut add);
        } else if pick < self.mix.b + self.mix.a2 {
            call.script_a2(rng, scratch, &mut add);
        } else {
            call.script_a1(rng, scratch, &mut add);
        }
        // Drawn once the whole call is scripted, in the order earlier versions drew them: a seed
        // still gives the same traffic.
        for delivery in &mut posts {
            let id = &mut delivery.webhook_id.0;
            id[..4].copy_from_slice(b"msg_");
            self.rng.fill_b64(&mut id[4..]);
        }
        self.open.push_back(posts);
    }
}

/// Calls are replayed as if they started ten minutes ago.
fn call_clock_start() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    now - 600 * 1_000_000_000
}

const BOT: usize = 0;
const CALLER: usize = 1;
const AGENT: usize = 2;

struct Party {
    raw_id: Vec<u8>,
    kind: PartyKind,
    participant_id: Vec<u8>,
}

enum PartyKind {
    Acs,
    Phone(Vec<u8>),
}

/// One POST being written: a JSON array of events (format B) or a single object.
struct Post {
    body: Vec<u8>,
    tokens: Tokens,
}

impl Post {
    fn new(mut body: Vec<u8>) -> Post {
        body.clear();
        Post {
            body,
            tokens: Tokens::default(),
        }
    }

    fn array(body: Vec<u8>) -> Post {
        let mut post = Post::new(body);
        post.body.push(b'[');
        post
    }

    /// Starts the next element of an array.
    fn next_element(&mut self) -> &mut Vec<u8> {
        if !self.tokens.is_empty() {
            self.body.push(b',');
        }
        &mut self.body
    }

    fn close_array(mut self) -> Post {
        self.body.push(b']');
        self
    }
}

/// One call's identifiers and clock.
struct Call {
    id: Vec<u8>,
    server_call_id: Vec<u8>,
    correlation_id: Vec<u8>,
    /// Unix nanoseconds of the last event.
    clock: i64,
    token_base: u64,
    next_event: u64,
    /// The bot, the caller and the agent (`BOT`, `CALLER`, `AGENT`).
    parties: [Party; 3],
    /// What the call application put in `operationContext`: its own state, which is what makes
    /// real events around a kilobyte.
    context_prefix: Vec<u8>,
}

impl Call {
    fn new(rng: &mut Rng, sender: u16, call_no: u32, resource: &[u8], clock: i64) -> Call {
        let id = rng.uuid();
        // A server call id is a base64 URL of the conversation: long, and the same shape in every era.
        let mut server_call_id = Vec::with_capacity(140);
        server_call_id.s("aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHkuc2t5cGUuY29tL2FwaS92Mi9jcC9jb252LXVzZWEyLTAxLXByb2QtYWtzLmNvbnYuc2t5cGUuY29tL2NvbnYv");
        rng.push_b64(22, &mut server_call_id);
        let acs = |rng: &mut Rng| {
            let mut raw_id = Vec::with_capacity(80);
            raw_id.s("8:acs:").s(resource).s("_");
            rng.push_uuid(&mut raw_id);
            Party {
                raw_id,
                kind: PartyKind::Acs,
                participant_id: rng.uuid(),
            }
        };
        let mut number = Vec::with_capacity(12);
        number.s("+1425555");
        push_decimal(&mut number, rng.below(10_000), 4);
        let mut raw_id = Vec::with_capacity(14);
        raw_id.s("4:").s(&number);
        let caller = Party {
            raw_id,
            kind: PartyKind::Phone(number),
            participant_id: rng.uuid(),
        };
        let bot = acs(rng);
        let agent = acs(rng);
        let campaign = rng.below(40);
        let mut context_prefix = Vec::with_capacity(128);
        context_prefix.s("tenant=contoso-emergency;campaign=wildfire-alert-2024-");
        push_decimal(&mut context_prefix, campaign, 2);
        context_prefix.s(";region=westus2;flow=evacuation-notice;locale=en-US;state=");
        Call {
            id,
            server_call_id,
            correlation_id: rng.uuid(),
            clock,
            token_base: u64::from(sender) << 48 | u64::from(call_no) << 16,
            next_event: 0,
            parties: [bot, caller, agent],
            context_prefix,
        }
    }

    fn token(&mut self) -> u64 {
        let t = self.token_base | (self.next_event & 0xffff);
        self.next_event += 1;
        t
    }

    /// Moves the call's clock on to its next event and writes that time.
    fn tick(&mut self, rng: &mut Rng, zone: &str, out: &mut Vec<u8>) {
        self.clock += (50 + rng.below(3000) as i64) * 1_000_000;
        push_time(out, self.clock, zone);
    }

    /// An operation context of a few hundred bytes: the application's serialised call state.
    fn context(&self, rng: &mut Rng, step: &str, out: &mut Vec<u8>) {
        out.clear();
        out.s(&self.context_prefix).s(step).s(".");
        let n = 80 + rng.below(200) as usize;
        rng.push_b64(n, out);
    }

    // ---- B: GA Call Automation, arrays of CloudEvents, camelCase ----

    /// `extra` goes inside `data`, after the ids, starting with its comma.
    fn b_event(&mut self, rng: &mut Rng, post: &mut Post, event_type: &str, extra: &[u8]) {
        let token = self.token();
        let out = post.next_element();
        out.s(r#"{"id":""#);
        rng.push_event_id(token, out);
        out.s(r#"","source":"calling/callConnections/"#)
            .s(&self.id)
            .s(r#"","type":"Microsoft.Communication."#)
            .s(event_type)
            .s(r#"","data":{"callConnectionId":""#)
            .s(&self.id)
            .s(r#"","serverCallId":""#)
            .s(&self.server_call_id)
            .s(r#"","correlationId":""#)
            .s(&self.correlation_id)
            .s("\"")
            .s(extra)
            .s(r#"},"time":""#);
        self.tick(rng, "+00:00", out);
        out.s(r#"","specversion":"1.0","datacontenttype":"application/json","subject":"calling/callConnections/"#)
            .s(&self.id)
            .s(r#""}"#);
        post.tokens.push(token);
    }

    #[allow(clippy::too_many_arguments)]
    fn b_result(
        &mut self,
        rng: &mut Rng,
        scratch: &mut Scratch,
        post: &mut Post,
        event_type: &str,
        step: &str,
        code: u32,
        sub: u32,
        message: &str,
    ) {
        self.context(rng, step, &mut scratch.context);
        let extra = &mut scratch.data;
        extra.clear();
        extra
            .s(r#","operationContext":""#)
            .s(&scratch.context)
            .s(r#"","resultInformation":{"code":"#);
        push_decimal(extra, u64::from(code), 0);
        extra.s(r#","subCode":"#);
        push_decimal(extra, u64::from(sub), 0);
        extra.s(r#","message":""#).s(message).s(r#""}"#);
        self.b_event(rng, post, event_type, &scratch.data);
    }

    fn b_participants(
        &mut self,
        rng: &mut Rng,
        scratch: &mut Scratch,
        post: &mut Post,
        seq: u32,
        who: &[(usize, bool, bool)],
    ) {
        let extra = &mut scratch.data;
        extra.clear();
        extra.s(r#","sequenceNumber":"#);
        push_decimal(extra, u64::from(seq), 0);
        extra.s(r#","participants":["#);
        for (i, &(party, muted, hold)) in who.iter().enumerate() {
            let p = &self.parties[party];
            if i > 0 {
                extra.push(b',');
            }
            extra.s(r#"{"identifier":"#);
            match &p.kind {
                PartyKind::Acs => extra
                    .s(r#"{"kind":"communicationUser","rawId":""#)
                    .s(&p.raw_id)
                    .s(r#"","communicationUser":{"id":""#)
                    .s(&p.raw_id)
                    .s(r#""}}"#),
                PartyKind::Phone(n) => extra
                    .s(r#"{"kind":"phoneNumber","rawId":""#)
                    .s(&p.raw_id)
                    .s(r#"","phoneNumber":{"value":""#)
                    .s(n)
                    .s(r#""}}"#),
            };
            extra.s(r#","isMuted":"#);
            push_bool(extra, muted);
            extra.s(r#","isOnHold":"#);
            push_bool(extra, hold);
            extra.push(b'}');
        }
        extra.s(r#"],"resultInformation":{"code":200,"subCode":0,"message":"ok"}"#);
        self.b_event(rng, post, "ParticipantsUpdated", &scratch.data);
    }

    fn b_tone(&mut self, rng: &mut Rng, scratch: &mut Scratch, post: &mut Post, seq: u32) {
        const TONES: [&str; 12] = [
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "asterisk", "pound",
        ];
        let tone = TONES[rng.below(12) as usize];
        self.context(rng, "dtmf", &mut scratch.context);
        let extra = &mut scratch.data;
        extra.clear();
        extra.s(r#","sequenceId":"#);
        push_decimal(extra, u64::from(seq), 0);
        extra
            .s(r#","tone":""#)
            .s(tone)
            .s(r#"","operationContext":""#)
            .s(&scratch.context)
            .s(r#"","resultInformation":{"code":200,"subCode":0,"message":"DTMF tone received successfully."}"#);
        self.b_event(
            rng,
            post,
            "ContinuousDtmfRecognitionToneReceived",
            &scratch.data,
        );
    }

    /// 14 events in 7 POSTs of one to three events.
    fn script_b(&mut self, rng: &mut Rng, s: &mut Scratch, add: &mut impl FnMut(Post)) {
        const DONE: &str = "Action completed successfully.";

        let mut p = Post::array(s.body());
        self.b_result(rng, s, &mut p, "CallConnected", "answer", 200, 0, "ok");
        self.b_participants(
            rng,
            s,
            &mut p,
            1,
            &[(BOT, false, false), (CALLER, false, false)],
        );
        add(p.close_array());

        let mut p = Post::array(s.body());
        self.b_result(rng, s, &mut p, "PlayStarted", "prompt", 200, 0, DONE);
        add(p.close_array());

        let mut p = Post::array(s.body());
        self.b_result(rng, s, &mut p, "PlayCompleted", "prompt", 200, 0, DONE);
        self.b_participants(
            rng,
            s,
            &mut p,
            2,
            &[
                (BOT, false, false),
                (CALLER, false, false),
                (AGENT, false, false),
            ],
        );
        add(p.close_array());

        let mut p = Post::array(s.body());
        for seq in 1..=3 {
            self.b_tone(rng, s, &mut p, seq);
        }
        add(p.close_array());

        let mut p = Post::array(s.body());
        self.b_participants(
            rng,
            s,
            &mut p,
            3,
            &[
                (BOT, false, false),
                (CALLER, false, true),
                (AGENT, true, false),
            ],
        );
        self.b_result(rng, s, &mut p, "PlayStarted", "hold-music", 200, 0, DONE);
        add(p.close_array());

        let mut p = Post::array(s.body());
        self.b_result(
            rng,
            s,
            &mut p,
            "PlayCanceled",
            "hold-music",
            400,
            8508,
            "Action falied, the operation was cancelled.",
        );
        self.b_participants(
            rng,
            s,
            &mut p,
            4,
            &[
                (BOT, false, false),
                (CALLER, false, false),
                (AGENT, false, false),
            ],
        );
        add(p.close_array());

        let mut p = Post::array(s.body());
        self.b_participants(
            rng,
            s,
            &mut p,
            5,
            &[(BOT, false, false), (AGENT, false, false)],
        );
        self.b_result(rng, s, &mut p, "CallDisconnected", "hangup", 200, 0, "ok");
        add(p.close_array());
    }

    // ---- A2: public preview, one CloudEvent per POST, camelCase ----

    /// `data` is the inside of the `data` object, before `callConnectionId`.
    fn a2_event(&mut self, rng: &mut Rng, body: Vec<u8>, event_type: &str, data: &[u8]) -> Post {
        let mut post = Post::new(body);
        let token = self.token();
        let out = &mut post.body;
        out.s(r#"{"id":""#);
        rng.push_event_id(token, out);
        out.s(r#"","source":"callConnection/"#)
            .s(&self.id)
            .s(r#"","type":"Microsoft.Communication."#)
            .s(event_type)
            .s(r#"","subject":"callConnection/"#)
            .s(&self.id)
            .s(r#"","time":""#);
        self.tick(rng, "+00:00", out);
        out.s(r#"","specversion":"1.0","datacontenttype":"application/json","data":{"#)
            .s(data)
            .s(r#","callConnectionId":""#)
            .s(&self.id)
            .s(r#""}}"#);
        post.tokens.push(token);
        post
    }

    fn a2_participants(&mut self, rng: &mut Rng, s: &mut Scratch, who: &[(usize, bool)]) -> Post {
        let data = &mut s.data;
        data.clear();
        data.s(r#""participants":["#);
        for (i, &(party, muted)) in who.iter().enumerate() {
            let p = &self.parties[party];
            if i > 0 {
                data.push(b',');
            }
            data.s(r#"{"identifier":"#);
            match &p.kind {
                PartyKind::Acs => data
                    .s(r#"{"rawId":""#)
                    .s(&p.raw_id)
                    .s(r#"","communicationUser":{"id":""#)
                    .s(&p.raw_id)
                    .s(r#""}}"#),
                PartyKind::Phone(n) => data
                    .s(r#"{"rawId":""#)
                    .s(&p.raw_id)
                    .s(r#"","phoneNumber":{"value":""#)
                    .s(n)
                    .s(r#""}}"#),
            };
            data.s(r#","participantId":""#)
                .s(&p.participant_id)
                .s(r#"","isMuted":"#);
            push_bool(data, muted);
            data.push(b'}');
        }
        data.push(b']');
        self.a2_event(rng, s.body(), "ParticipantsUpdated", &s.data)
    }

    fn a2_state(&mut self, rng: &mut Rng, s: &mut Scratch, state: &str) -> Post {
        self.context(rng, state, &mut s.context);
        s.data.clear();
        s.data
            .s(r#""serverCallId":""#)
            .s(&self.server_call_id)
            .s(r#"","callConnectionState":""#)
            .s(state)
            .s(r#"","operationContext":""#)
            .s(&s.context)
            .s("\"");
        self.a2_event(rng, s.body(), "CallConnectionStateChanged", &s.data)
    }

    /// 7 POSTs of one event each.
    fn script_a2(&mut self, rng: &mut Rng, s: &mut Scratch, add: &mut impl FnMut(Post)) {
        add(self.a2_state(rng, s, "connected"));
        add(self.a2_participants(rng, s, &[(BOT, false), (CALLER, false)]));
        for seq in 1..=2 {
            self.context(rng, "menu", &mut s.context);
            let tone = rng.below(10);
            s.data.clear();
            s.data.s(r#""toneInfo":{"sequenceId":"#);
            push_decimal(&mut s.data, seq, 0);
            s.data.s(r#","tone":"tone"#);
            push_decimal(&mut s.data, tone, 0);
            s.data.s(r#""},"operationContext":""#).s(&s.context).s("\"");
            add(self.a2_event(rng, s.body(), "ToneReceived", &s.data));
        }
        self.context(rng, "prompt", &mut s.context);
        s.data.clear();
        s.data
            .s(r#""resultInfo":{"code":200,"subcode":0,"message":"Action completed successfully."},"operationContext":""#)
            .s(&s.context)
            .s(r#"","status":"completed""#);
        add(self.a2_event(rng, s.body(), "PlayAudioResult", &s.data));
        add(self.a2_participants(rng, s, &[(BOT, false), (CALLER, true), (AGENT, false)]));
        add(self.a2_state(rng, s, "disconnected"));
    }

    // ---- A1: private preview, one Event Grid-like object per POST, PascalCase data, null id ----

    fn a1_event(
        &mut self,
        rng: &mut Rng,
        body: Vec<u8>,
        event_type: &str,
        what: &str,
        data: &[u8],
    ) -> Post {
        let mut post = Post::new(body);
        let token = self.token();
        let out = &mut post.body;
        out.s(r#"{"id":null,"topic":null,"subject":"callLeg/"#)
            .s(&self.id)
            .s("/")
            .s(what)
            .s("-");
        push_hex(out, token, 16);
        out.s(r#"","data":{"#)
            .s(data)
            .s(r#","CallLegId":""#)
            .s(&self.id)
            .s(r#""},"eventType":"Microsoft.Communication."#)
            .s(event_type)
            .s(r#"","eventTime":""#);
        self.tick(rng, "Z", out);
        out.s(r#"","metadataVersion":null,"dataVersion":null}"#);
        post.tokens.push(token);
        post
    }

    fn a1_participants(&mut self, rng: &mut Rng, s: &mut Scratch, who: &[(usize, bool)]) -> Post {
        let data = &mut s.data;
        data.clear();
        data.s(r#""Participants":["#);
        for (i, &(party, muted)) in who.iter().enumerate() {
            let p = &self.parties[party];
            if i > 0 {
                data.push(b',');
            }
            data.s(r#"{"Identifier":{"RawId":""#)
                .s(&p.raw_id)
                .s(r#""},"ParticipantId":""#)
                .s(&p.participant_id)
                .s(r#"","IsMuted":"#);
            push_bool(data, muted);
            data.push(b'}');
        }
        data.push(b']');
        self.a1_event(
            rng,
            s.body(),
            "ParticipantsUpdated",
            "participants",
            &s.data,
        )
    }

    fn a1_state(&mut self, rng: &mut Rng, s: &mut Scratch, state: &str) -> Post {
        self.context(rng, state, &mut s.context);
        s.data.clear();
        s.data
            .s(r#""ConversationId":""#)
            .s(&self.correlation_id)
            .s(r#"","CallState":""#)
            .s(state)
            .s(r#"","OperationContext":""#)
            .s(&s.context)
            .s("\"");
        self.a1_event(rng, s.body(), "CallLegStateChanged", "callState", &s.data)
    }

    /// 7 POSTs of one event each.
    fn script_a1(&mut self, rng: &mut Rng, s: &mut Scratch, add: &mut impl FnMut(Post)) {
        add(self.a1_state(rng, s, "Established"));
        add(self.a1_participants(rng, s, &[(BOT, false), (CALLER, false)]));
        for seq in 1..=2 {
            self.context(rng, "menu", &mut s.context);
            let tone = rng.below(10);
            s.data.clear();
            s.data.s(r#""ToneInfo":{"SequenceId":"#);
            push_decimal(&mut s.data, seq, 0);
            s.data.s(r#","Tone":"Tone"#);
            push_decimal(&mut s.data, tone, 0);
            s.data.s(r#""},"OperationContext":""#).s(&s.context).s("\"");
            add(self.a1_event(rng, s.body(), "DtmfReceived", "dtmf", &s.data));
        }
        self.context(rng, "prompt", &mut s.context);
        s.data.clear();
        s.data
            .s(r#""ResultInfo":{"Code":200,"Subcode":0,"Message":"Action completed successfully."},"OperationContext":""#)
            .s(&s.context)
            .s(r#"","Status":"completed""#);
        add(self.a1_event(rng, s.body(), "PlayAudioResult", "playAudio", &s.data));
        add(self.a1_participants(rng, s, &[(BOT, false), (CALLER, true), (AGENT, false)]));
        add(self.a1_state(rng, s, "Terminated"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calltrail::events::{parse_callback_body, EventFamily, WireFormat};
    use std::collections::HashSet;

    fn sample(mix: &str, calls: usize) -> Vec<Delivery> {
        let mut traffic = Traffic::new(7, 42, mix.parse().unwrap(), CallStart::TenMinutesAgo);
        let mut out = Vec::new();
        while traffic.calls < calls as u32 || !traffic.open.is_empty() {
            out.push(traffic.next_delivery());
        }
        out
    }

    #[test]
    fn open_calls_take_turns_and_keep_each_calls_posts_in_order() {
        let mut traffic =
            Traffic::new(3, 9, "b=1".parse().unwrap(), CallStart::TenMinutesAgo).with_open_calls(4);
        let mut last_token: std::collections::HashMap<u64, u64> = Default::default();
        let mut calls = Vec::new();
        for _ in 0..40 {
            let delivery = traffic.next_delivery();
            for &token in delivery.tokens.as_slice() {
                // The token holds the call's number above its event's.
                let call = token >> 16;
                if let Some(previous) = last_token.insert(call, token) {
                    assert!(token > previous, "call {call}: {token} after {previous}");
                }
            }
            calls.push(delivery.tokens.as_slice()[0] >> 16);
        }
        let first_four: HashSet<u64> = calls[..4].iter().copied().collect();
        assert_eq!(first_four.len(), 4, "four calls open at once: {calls:?}");
        assert!(calls.windows(2).all(|w| w[0] != w[1]), "{calls:?}");

        // One open call is the traffic of earlier versions: each call's POSTs back to back.
        let mut one = Traffic::new(3, 9, "b=1".parse().unwrap(), CallStart::TenMinutesAgo);
        let first: Vec<u64> = (0..7)
            .map(|_| one.next_delivery().tokens.as_slice()[0] >> 16)
            .collect();
        assert!(first.iter().all(|&c| c == first[0]), "{first:?}");
    }

    #[test]
    fn a_fixed_call_start_dates_every_event_and_repeats_the_traffic() {
        // 2024-03-12T08:50:00Z
        let start = 1_710_233_400_000_000_000;
        let bodies = || {
            let mut traffic = Traffic::new(0, 0, "b=1".parse().unwrap(), CallStart::At(start));
            (0..20)
                .map(|_| traffic.next_delivery().body)
                .collect::<Vec<_>>()
        };
        let first = bodies();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(first, bodies(), "the same traffic whenever it is made");
        let text = String::from_utf8(first[0].clone()).unwrap();
        assert!(text.contains("\"time\":\"2024-03-12T08:50:"), "{text}");
    }

    #[test]
    fn every_body_parses_with_the_expected_events_and_format() {
        for (mix, format, posts_per_call) in [
            ("b=1", WireFormat::CallAutomation, 7),
            ("a2=1", WireFormat::A2, 7),
            ("a1=1", WireFormat::A1, 7),
        ] {
            let deliveries = sample(mix, 20);
            assert_eq!(deliveries.len(), 20 * posts_per_call, "{mix}");
            for d in &deliveries {
                let events = parse_callback_body(&d.body).unwrap_or_else(|e| {
                    panic!("{mix}: {e:?}\n{}", String::from_utf8_lossy(&d.body))
                });
                assert_eq!(events.len(), d.tokens.len());
                for (event, token) in events.iter().zip(d.tokens.as_slice()) {
                    assert_eq!(event.format, format);
                    assert_ne!(
                        event.kind.family(),
                        EventFamily::Unknown,
                        "{}",
                        event.event_type
                    );
                    let back = token_of(event.event_id.as_deref(), event.subject.as_deref());
                    assert_eq!(back, Some(*token));
                }
            }
        }
    }

    #[test]
    fn events_are_distinct_and_about_a_kilobyte() {
        let deliveries = sample("b=60,a2=20,a1=20", 300);
        let mut keys = HashSet::new();
        let mut sizes = Vec::new();
        for d in &deliveries {
            for event in parse_callback_body(&d.body).unwrap() {
                assert!(keys.insert(event.dedup_key), "two events share a dedup key");
                sizes.push(event.raw.len());
            }
        }
        sizes.sort_unstable();
        let median = sizes[sizes.len() / 2];
        assert!(
            (850..=1250).contains(&median),
            "median event is {median} bytes"
        );
    }

    #[test]
    fn tokens_survive_the_round_trip() {
        let mut rng = Rng::new(1);
        for token in [0u64, 1, u64::MAX, 0x0040_0000_1234_0007] {
            let mut id = Vec::new();
            rng.push_event_id(token, &mut id);
            let id = String::from_utf8(id).unwrap();
            assert_eq!(token_of(Some(&id), None), Some(token));
            let subject = format!("callLeg/x/dtmf-{token:016x}");
            assert_eq!(token_of(None, Some(&subject)), Some(token));
        }
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        use chrono::{DateTime, Timelike};
        let mut rng = Rng::new(3);
        // From 1900 to about 2090, in steps of up to a week.
        let mut nanos: i64 = -86_400 * 1_000_000_000 * 365 * 70;
        for _ in 0..20_000 {
            nanos +=
                (rng.below(86_400 * 7) as i64) * 1_000_000_000 + rng.below(1_000_000_000) as i64;
            let t = DateTime::from_timestamp_nanos(nanos);
            let expected = format!(
                "{}.{:07}Z",
                t.format("%Y-%m-%dT%H:%M:%S"),
                t.nanosecond() / 100
            );
            let mut out = Vec::new();
            push_time(&mut out, nanos, "Z");
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn numbers_are_written_as_format_writes_them() {
        for v in [0u64, 7, 10, 99, 1234, 40_000, u64::MAX] {
            for width in [0, 2, 4, 7] {
                let mut out = Vec::new();
                push_decimal(&mut out, v, width);
                assert_eq!(String::from_utf8(out).unwrap(), format!("{v:0width$}"));
            }
            let mut out = Vec::new();
            push_hex(&mut out, v, 16);
            assert_eq!(String::from_utf8(out).unwrap(), format!("{v:016x}"));
        }
    }
}
