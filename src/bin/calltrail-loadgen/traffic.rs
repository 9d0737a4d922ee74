//! Realistic callback traffic: whole calls, each scripted as the POSTs ACS would send for it, in the
//! three wire formats. Built with `format!` rather than a JSON library so that the generator stays
//! cheap next to the server it measures.
//!
//! Every event carries a token (sender, call, event index) that the database check reads back: in
//! the CloudEvent `id` (its last two groups) or, for A1 events whose `id` is null, at the end of
//! the `subject`.

use std::collections::VecDeque;
use std::fmt::Write;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};

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

    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// A v4-looking uuid whose last two groups are `token`.
    fn event_id(&mut self, token: u64) -> String {
        let a = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            token >> 48,
            token & 0xffff_ffff_ffff
        )
    }

    /// `n` characters of URL-safe base64 alphabet.
    fn push_b64(&mut self, n: usize, out: &mut String) {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut left = n;
        while left > 0 {
            let mut bits = self.next_u64();
            for _ in 0..left.min(10) {
                out.push(ALPHABET[(bits & 63) as usize] as char);
                bits >>= 6;
            }
            left -= left.min(10);
        }
    }

    fn b64(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        self.push_b64(n, &mut s);
        s
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

/// One POST: the body, its Standard Webhooks message id (kept when re-sent, as a retrying sender
/// does), and the tokens of its events.
#[derive(Clone)]
pub struct Delivery {
    pub body: Bytes,
    pub webhook_id: String,
    pub tokens: Vec<u64>,
}

/// Endless traffic for one sender: call after call, each call's POSTs in order.
pub struct Traffic {
    rng: Rng,
    sender: u16,
    calls: u32,
    mix: Mix,
    /// The ACS resource all calls belong to.
    resource: String,
    pending: VecDeque<Delivery>,
}

impl Traffic {
    pub fn new(sender: u16, seed: u64, mix: Mix) -> Traffic {
        let mut rng = Rng::new(seed ^ (u64::from(sender) << 32) ^ 0x5eed);
        let resource = rng.uuid();
        Traffic {
            rng,
            sender,
            calls: 0,
            mix,
            resource,
            pending: VecDeque::new(),
        }
    }

    pub fn next_delivery(&mut self) -> Delivery {
        loop {
            if let Some(d) = self.pending.pop_front() {
                return d;
            }
            self.script_call();
        }
    }

    fn script_call(&mut self) {
        let call_no = self.calls;
        self.calls = self.calls.wrapping_add(1);
        let total = u64::from(self.mix.b + self.mix.a2 + self.mix.a1);
        let pick = self.rng.below(total) as u32;
        let mut call = Call::new(&mut self.rng, self.sender, call_no, &self.resource);
        let posts = if pick < self.mix.b {
            call.script_b(&mut self.rng)
        } else if pick < self.mix.b + self.mix.a2 {
            call.script_a2(&mut self.rng)
        } else {
            call.script_a1(&mut self.rng)
        };
        for (body, tokens) in posts {
            let mut webhook_id = String::with_capacity(28);
            webhook_id.push_str("msg_");
            self.rng.push_b64(24, &mut webhook_id);
            self.pending.push_back(Delivery {
                body: Bytes::from(body),
                webhook_id,
                tokens,
            });
        }
    }
}

#[derive(Clone)]
struct Party {
    raw_id: String,
    kind: PartyKind,
    participant_id: String,
}

#[derive(Clone)]
enum PartyKind {
    Acs,
    Phone(String),
}

/// One call's identifiers and clock.
struct Call {
    id: String,
    server_call_id: String,
    correlation_id: String,
    clock: DateTime<Utc>,
    token_base: u64,
    next_event: u64,
    bot: Party,
    caller: Party,
    agent: Party,
    /// What the call application put in `operationContext`: its own state, which is what makes
    /// real events around a kilobyte.
    context_prefix: String,
}

type Post = (String, Vec<u64>);

impl Call {
    fn new(rng: &mut Rng, sender: u16, call_no: u32, resource: &str) -> Call {
        let id = rng.uuid();
        // A server call id is a base64 URL of the conversation: long, and the same shape in every era.
        let server_call_id = format!(
            "aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHkuc2t5cGUuY29tL2FwaS92Mi9jcC9jb252LXVzZWEyLTAxLXByb2QtYWtzLmNvbnYuc2t5cGUuY29tL2NvbnYv{}",
            rng.b64(22)
        );
        let acs = |rng: &mut Rng| Party {
            raw_id: format!("8:acs:{resource}_{}", rng.uuid()),
            kind: PartyKind::Acs,
            participant_id: rng.uuid(),
        };
        let number = format!("+1425555{:04}", rng.below(10_000));
        let caller = Party {
            raw_id: format!("4:{number}"),
            kind: PartyKind::Phone(number),
            participant_id: rng.uuid(),
        };
        let bot = acs(rng);
        let agent = acs(rng);
        let campaign = rng.below(40);
        let context_prefix = format!(
            "tenant=contoso-emergency;campaign=wildfire-alert-2024-{campaign:02};region=westus2;flow=evacuation-notice;locale=en-US;state="
        );
        Call {
            id,
            server_call_id,
            correlation_id: rng.uuid(),
            clock: Utc::now() - Duration::seconds(600),
            token_base: u64::from(sender) << 48 | u64::from(call_no) << 16,
            next_event: 0,
            bot,
            caller,
            agent,
            context_prefix,
        }
    }

    fn token(&mut self) -> u64 {
        let t = self.token_base | (self.next_event & 0xffff);
        self.next_event += 1;
        t
    }

    /// The next event's time, with the 7 fractional digits and offset ACS writes.
    fn time(&mut self, rng: &mut Rng) -> String {
        self.tick(rng, "+00:00")
    }

    fn tick(&mut self, rng: &mut Rng, zone: &str) -> String {
        use chrono::Timelike;
        self.clock += Duration::milliseconds(50 + rng.below(3000) as i64);
        format!(
            "{}.{:07}{zone}",
            self.clock.format("%Y-%m-%dT%H:%M:%S"),
            self.clock.nanosecond() / 100
        )
    }

    /// An operation context of a few hundred bytes: the application's serialised call state.
    fn context(&self, rng: &mut Rng, step: &str) -> String {
        let mut s = String::with_capacity(self.context_prefix.len() + 500);
        s.push_str(&self.context_prefix);
        s.push_str(step);
        s.push('.');
        let n = 80 + rng.below(200) as usize;
        rng.push_b64(n, &mut s);
        s
    }

    // ---- B: GA Call Automation, arrays of CloudEvents, camelCase ----

    fn b_event(&mut self, rng: &mut Rng, event_type: &str, extra: &str) -> (String, u64) {
        let token = self.token();
        let id = rng.event_id(token);
        let time = self.time(rng);
        let cid = &self.id;
        (
            format!(
                r#"{{"id":"{id}","source":"calling/callConnections/{cid}","type":"Microsoft.Communication.{event_type}","data":{{"callConnectionId":"{cid}","serverCallId":"{}","correlationId":"{}"{extra}}},"time":"{time}","specversion":"1.0","datacontenttype":"application/json","subject":"calling/callConnections/{cid}"}}"#,
                self.server_call_id, self.correlation_id
            ),
            token,
        )
    }

    fn b_result(
        &mut self,
        rng: &mut Rng,
        event_type: &str,
        step: &str,
        code: u32,
        sub: u32,
        message: &str,
    ) -> (String, u64) {
        let ctx = self.context(rng, step);
        let extra = format!(
            r#","operationContext":"{ctx}","resultInformation":{{"code":{code},"subCode":{sub},"message":"{message}"}}"#
        );
        self.b_event(rng, event_type, &extra)
    }

    fn b_participants(
        &mut self,
        rng: &mut Rng,
        seq: u32,
        who: &[(&Party, bool, bool)],
    ) -> (String, u64) {
        let mut list = String::new();
        for (i, (p, muted, hold)) in who.iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            let identifier = match &p.kind {
                PartyKind::Acs => format!(
                    r#"{{"kind":"communicationUser","rawId":"{0}","communicationUser":{{"id":"{0}"}}}}"#,
                    p.raw_id
                ),
                PartyKind::Phone(n) => format!(
                    r#"{{"kind":"phoneNumber","rawId":"{}","phoneNumber":{{"value":"{n}"}}}}"#,
                    p.raw_id
                ),
            };
            let _ = write!(
                list,
                r#"{{"identifier":{identifier},"isMuted":{muted},"isOnHold":{hold}}}"#
            );
        }
        let extra = format!(
            r#","sequenceNumber":{seq},"participants":[{list}],"resultInformation":{{"code":200,"subCode":0,"message":"ok"}}"#
        );
        self.b_event(rng, "ParticipantsUpdated", &extra)
    }

    fn b_tone(&mut self, rng: &mut Rng, seq: u32) -> (String, u64) {
        const TONES: [&str; 12] = [
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "asterisk", "pound",
        ];
        let tone = TONES[rng.below(12) as usize];
        let ctx = self.context(rng, "dtmf");
        let extra = format!(
            r#","sequenceId":{seq},"tone":"{tone}","operationContext":"{ctx}","resultInformation":{{"code":200,"subCode":0,"message":"DTMF tone received successfully."}}"#
        );
        self.b_event(rng, "ContinuousDtmfRecognitionToneReceived", &extra)
    }

    /// 14 events in 7 POSTs of one to three events.
    fn script_b(&mut self, rng: &mut Rng) -> Vec<Post> {
        fn post(events: Vec<(String, u64)>) -> Post {
            let mut body =
                String::with_capacity(events.iter().map(|e| e.0.len() + 1).sum::<usize>() + 2);
            let mut tokens = Vec::with_capacity(events.len());
            body.push('[');
            for (i, (e, t)) in events.into_iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(&e);
                tokens.push(t);
            }
            body.push(']');
            (body, tokens)
        }
        let (bot, caller, agent) = (self.bot.clone(), self.caller.clone(), self.agent.clone());
        let mut posts = Vec::with_capacity(7);
        let e = self.b_result(rng, "CallConnected", "answer", 200, 0, "ok");
        let p = self.b_participants(rng, 1, &[(&bot, false, false), (&caller, false, false)]);
        posts.push(post(vec![e, p]));
        posts.push(post(vec![self.b_result(
            rng,
            "PlayStarted",
            "prompt",
            200,
            0,
            "Action completed successfully.",
        )]));
        let e = self.b_result(
            rng,
            "PlayCompleted",
            "prompt",
            200,
            0,
            "Action completed successfully.",
        );
        let p = self.b_participants(
            rng,
            2,
            &[
                (&bot, false, false),
                (&caller, false, false),
                (&agent, false, false),
            ],
        );
        posts.push(post(vec![e, p]));
        let tones = (1..=3).map(|s| self.b_tone(rng, s)).collect();
        posts.push(post(tones));
        let p = self.b_participants(
            rng,
            3,
            &[
                (&bot, false, false),
                (&caller, false, true),
                (&agent, true, false),
            ],
        );
        let e = self.b_result(
            rng,
            "PlayStarted",
            "hold-music",
            200,
            0,
            "Action completed successfully.",
        );
        posts.push(post(vec![p, e]));
        let e = self.b_result(
            rng,
            "PlayCanceled",
            "hold-music",
            400,
            8508,
            "Action falied, the operation was cancelled.",
        );
        let p = self.b_participants(
            rng,
            4,
            &[
                (&bot, false, false),
                (&caller, false, false),
                (&agent, false, false),
            ],
        );
        posts.push(post(vec![e, p]));
        let p = self.b_participants(rng, 5, &[(&bot, false, false), (&agent, false, false)]);
        let e = self.b_result(rng, "CallDisconnected", "hangup", 200, 0, "ok");
        posts.push(post(vec![p, e]));
        posts
    }

    // ---- A2: public preview, one CloudEvent per POST, camelCase ----

    fn a2_event(&mut self, rng: &mut Rng, event_type: &str, data: &str) -> Post {
        let token = self.token();
        let id = rng.event_id(token);
        let time = self.time(rng);
        let cid = &self.id;
        (
            format!(
                r#"{{"id":"{id}","source":"callConnection/{cid}","type":"Microsoft.Communication.{event_type}","subject":"callConnection/{cid}","time":"{time}","specversion":"1.0","datacontenttype":"application/json","data":{{{data},"callConnectionId":"{cid}"}}}}"#
            ),
            vec![token],
        )
    }

    fn a2_participants(&mut self, rng: &mut Rng, who: &[(&Party, bool)]) -> Post {
        let mut list = String::new();
        for (i, (p, muted)) in who.iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            let identifier = match &p.kind {
                PartyKind::Acs => format!(
                    r#"{{"rawId":"{0}","communicationUser":{{"id":"{0}"}}}}"#,
                    p.raw_id
                ),
                PartyKind::Phone(n) => format!(
                    r#"{{"rawId":"{}","phoneNumber":{{"value":"{n}"}}}}"#,
                    p.raw_id
                ),
            };
            let _ = write!(
                list,
                r#"{{"identifier":{identifier},"participantId":"{}","isMuted":{muted}}}"#,
                p.participant_id
            );
        }
        self.a2_event(
            rng,
            "ParticipantsUpdated",
            &format!(r#""participants":[{list}]"#),
        )
    }

    fn a2_state(&mut self, rng: &mut Rng, state: &str) -> Post {
        let ctx = self.context(rng, state);
        let data = format!(
            r#""serverCallId":"{}","callConnectionState":"{state}","operationContext":"{ctx}""#,
            self.server_call_id
        );
        self.a2_event(rng, "CallConnectionStateChanged", &data)
    }

    /// 7 POSTs of one event each.
    fn script_a2(&mut self, rng: &mut Rng) -> Vec<Post> {
        let (bot, caller, agent) = (self.bot.clone(), self.caller.clone(), self.agent.clone());
        let mut posts = Vec::with_capacity(7);
        posts.push(self.a2_state(rng, "connected"));
        posts.push(self.a2_participants(rng, &[(&bot, false), (&caller, false)]));
        for seq in 1..=2 {
            let ctx = self.context(rng, "menu");
            let tone = format!("tone{}", rng.below(10));
            let data = format!(
                r#""toneInfo":{{"sequenceId":{seq},"tone":"{tone}"}},"operationContext":"{ctx}""#
            );
            posts.push(self.a2_event(rng, "ToneReceived", &data));
        }
        let ctx = self.context(rng, "prompt");
        let data = format!(
            r#""resultInfo":{{"code":200,"subcode":0,"message":"Action completed successfully."}},"operationContext":"{ctx}","status":"completed""#
        );
        posts.push(self.a2_event(rng, "PlayAudioResult", &data));
        posts.push(self.a2_participants(rng, &[(&bot, false), (&caller, true), (&agent, false)]));
        posts.push(self.a2_state(rng, "disconnected"));
        posts
    }

    // ---- A1: private preview, one Event Grid-like object per POST, PascalCase data, null id ----

    fn a1_event(&mut self, rng: &mut Rng, event_type: &str, what: &str, data: &str) -> Post {
        let token = self.token();
        let time = self.clock_a1(rng);
        let leg = &self.id;
        (
            format!(
                r#"{{"id":null,"topic":null,"subject":"callLeg/{leg}/{what}-{token:016x}","data":{{{data},"CallLegId":"{leg}"}},"eventType":"Microsoft.Communication.{event_type}","eventTime":"{time}","metadataVersion":null,"dataVersion":null}}"#
            ),
            vec![token],
        )
    }

    fn clock_a1(&mut self, rng: &mut Rng) -> String {
        self.tick(rng, "Z")
    }

    fn a1_participants(&mut self, rng: &mut Rng, who: &[(&Party, bool)]) -> Post {
        let mut list = String::new();
        for (i, (p, muted)) in who.iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            let _ = write!(
                list,
                r#"{{"Identifier":{{"RawId":"{}"}},"ParticipantId":"{}","IsMuted":{muted}}}"#,
                p.raw_id, p.participant_id
            );
        }
        self.a1_event(
            rng,
            "ParticipantsUpdated",
            "participants",
            &format!(r#""Participants":[{list}]"#),
        )
    }

    fn a1_state(&mut self, rng: &mut Rng, state: &str) -> Post {
        let ctx = self.context(rng, state);
        let data = format!(
            r#""ConversationId":"{}","CallState":"{state}","OperationContext":"{ctx}""#,
            self.correlation_id
        );
        self.a1_event(rng, "CallLegStateChanged", "callState", &data)
    }

    /// 7 POSTs of one event each.
    fn script_a1(&mut self, rng: &mut Rng) -> Vec<Post> {
        let (bot, caller, agent) = (self.bot.clone(), self.caller.clone(), self.agent.clone());
        let mut posts = Vec::with_capacity(7);
        posts.push(self.a1_state(rng, "Established"));
        posts.push(self.a1_participants(rng, &[(&bot, false), (&caller, false)]));
        for seq in 1..=2 {
            let ctx = self.context(rng, "menu");
            let tone = format!("Tone{}", rng.below(10));
            let data = format!(
                r#""ToneInfo":{{"SequenceId":{seq},"Tone":"{tone}"}},"OperationContext":"{ctx}""#
            );
            posts.push(self.a1_event(rng, "DtmfReceived", "dtmf", &data));
        }
        let ctx = self.context(rng, "prompt");
        let data = format!(
            r#""ResultInfo":{{"Code":200,"Subcode":0,"Message":"Action completed successfully."}},"OperationContext":"{ctx}","Status":"completed""#
        );
        posts.push(self.a1_event(rng, "PlayAudioResult", "playAudio", &data));
        posts.push(self.a1_participants(rng, &[(&bot, false), (&caller, true), (&agent, false)]));
        posts.push(self.a1_state(rng, "Terminated"));
        posts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calltrail::events::{parse_callback_body, WireFormat};
    use std::collections::HashSet;

    fn sample(mix: &str, calls: usize) -> Vec<Delivery> {
        let mut traffic = Traffic::new(7, 42, mix.parse().unwrap());
        let mut out = Vec::new();
        while traffic.calls < calls as u32 || !traffic.pending.is_empty() {
            out.push(traffic.next_delivery());
        }
        out
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
                for (event, token) in events.iter().zip(&d.tokens) {
                    assert_eq!(event.format, format);
                    assert_ne!(event.kind.family(), "unknown", "{}", event.event_type);
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
            let id = rng.event_id(token);
            assert_eq!(token_of(Some(&id), None), Some(token));
            let subject = format!("callLeg/x/dtmf-{token:016x}");
            assert_eq!(token_of(None, Some(&subject)), Some(token));
        }
    }
}
