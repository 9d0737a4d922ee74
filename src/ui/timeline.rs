//! The call page's swimlane, as coordinates: a pure function of the call's rows, so that what the
//! picture claims can be tested without a browser. The page only prints the [`Layout`].
//!
//! Lanes: the call's state first, then one per participant (in order of first join, paged
//! [`LANES_PER_PAGE`] at a time), then media. Every mark (a bar's end, a mute or hold change, a key
//! press, a state change) carries the `event_seq` of the stored event it was derived from, found by
//! the ACS sequence number the call model keeps, else by the event's time, family and operation
//! context; a mark no stored event explains is kept, without a link, and counted.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::api::calls::{CallSummary, DtmfTone, MediaOperation, ParticipantInterval};
use crate::api::events::EventSummary;
use crate::ui::page;

mod find;
mod model;
mod window;

pub use find::effective_time;
use find::Events;
pub use model::*;
pub use window::{layout_window, MARKS_PER_WINDOW};

/// Lanes of participants on one page of the picture: past this a call is paged.
pub const LANES_PER_PAGE: usize = 40;
/// Where the plot starts (lane labels sit left of it), and the space right of it.
pub const LEFT: f64 = 210.0;
const RIGHT: f64 = 30.0;
/// The axis above the first lane.
pub const TOP: f64 = 40.0;
pub const LANE_HEIGHT: f64 = 40.0;
const MIN_SPAN_MS: i64 = 1000;

pub struct Input<'a> {
    pub call: &'a CallSummary,
    pub intervals: &'a [ParticipantInterval],
    pub dtmf: &'a [DtmfTone],
    pub media: &'a [MediaOperation],
    /// Every stored event of the call.
    pub events: &'a [EventSummary],
}

/// Lays out one page (from 1) of the call's lanes in a picture `width` wide, the whole call.
pub fn layout(input: &Input<'_>, width: f64, page: usize) -> Layout {
    layout_span(input, width, page, None)
}

/// The whole call's first and last moment (at least [`MIN_SPAN_MS`] apart).
fn call_span(input: &Input<'_>) -> (DateTime<Utc>, DateTime<Utc>) {
    let mut start = input.call.first_event_at;
    let mut end = input.call.last_event_at;
    for e in input.events {
        start = start.min(effective_time(e));
        end = end.max(effective_time(e));
    }
    if (end - start).num_milliseconds() < MIN_SPAN_MS {
        end = start + chrono::TimeDelta::milliseconds(MIN_SPAN_MS);
    }
    (start, end)
}

/// A stretch of the call: marks at `from` and up to `to` (`to` itself too when `last`).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub last: bool,
}

impl Span {
    fn holds(&self, at: DateTime<Utc>) -> bool {
        at >= self.from && (at < self.to || (self.last && at == self.to))
    }
}

/// Lays out one page of lanes over `span` of the call (the whole call when `None`): the x axis runs
/// over the span, only its marks are drawn, and bars are cut at its edges.
fn layout_span(input: &Input<'_>, width: f64, page: usize, window: Option<Span>) -> Layout {
    let events = Events {
        events: input.events,
    };
    let call = input.call;
    let (call_start, call_end_known) = call_span(input);
    let (start, end) = match window {
        Some(w) => (
            w.from,
            w.to.max(w.from + chrono::TimeDelta::milliseconds(1)),
        ),
        None => (call_start, call_end_known),
    };
    let end_of_call = call_end_known;
    let plot = (width - LEFT - RIGHT).max(100.0);
    let span = (end - start).num_milliseconds() as f64;
    let x = |t: DateTime<Utc>| {
        let offset = (t - start).num_milliseconds() as f64;
        LEFT + (offset / span).clamp(0.0, 1.0) * plot
    };

    // Participants in order of first join (the intervals come by join time).
    let mut order: Vec<(&str, &str, &str)> = Vec::new();
    for i in input.intervals {
        if !order.iter().any(|(raw, _, _)| *raw == i.raw_id) {
            order.push((&i.raw_id, &i.display_id, &i.kind));
        }
    }
    let participants = order.len();
    let pages = participants.div_ceil(LANES_PER_PAGE).max(1);
    let page = page.clamp(1, pages);
    let shown = &order[((page - 1) * LANES_PER_PAGE).min(participants)
        ..(page * LANES_PER_PAGE).min(participants)];

    let mut lanes = vec![Lane {
        kind: LaneKind::Call,
        label: "Call state".to_owned(),
        y: 0.0,
    }];
    let mut lane_of: HashMap<&str, usize> = HashMap::new();
    for (raw, display, kind) in shown {
        lane_of.insert(raw, lanes.len());
        lanes.push(Lane {
            kind: LaneKind::Participant {
                raw_id: (*raw).to_owned(),
                kind: (*kind).to_owned(),
            },
            label: (*display).to_owned(),
            y: 0.0,
        });
    }

    let mut bars = Vec::new();
    let mut marks = Vec::new();
    let mut mark = |lane: usize, at, kind, glyph: &str, label: String, event_seq| {
        marks.push(Mark {
            lane,
            x: x(at),
            at,
            kind,
            glyph: glyph.to_owned(),
            label,
            event_seq,
        });
    };

    for e in input.events {
        if matches!(e.family.as_str(), "call_state" | "operation_failed") {
            let state = e.details.get("state").and_then(|s| s.as_str());
            let label = match state {
                Some(state) => format!("{} (state {state})", e.event_type),
                None => e.event_type.clone(),
            };
            let glyph = if e.family == "operation_failed" {
                "!"
            } else {
                "S"
            };
            mark(
                0,
                effective_time(e),
                MarkKind::State,
                glyph,
                label,
                Some(e.event_seq),
            );
        }
    }

    let call_end = call.disconnected_at.unwrap_or(end_of_call);
    let roster = ["participants_updated"];
    for i in input.intervals {
        let Some(&lane) = lane_of.get(i.raw_id.as_str()) else {
            continue;
        };
        let who = &i.display_id;
        let joined = events.find(i.joined_at, i.joined_sequence, &roster, None);
        mark(
            lane,
            i.joined_at,
            MarkKind::Join,
            "▶",
            format!("{who} joined"),
            joined,
        );
        let until = i.left_at.unwrap_or(call_end);
        bars.push(Bar {
            lane,
            x1: x(i.joined_at),
            x2: x(until),
            style: BarStyle::Presence,
            open: i.left_at.is_none(),
            label: format!("{who} in the call"),
        });
        if let Some(left) = i.left_at {
            let seq = events
                .find(left, i.left_sequence, &roster, None)
                .or_else(|| events.find(left, None, &["call_state"], None));
            mark(lane, left, MarkKind::Leave, "■", format!("{who} left"), seq);
        }
        // Mute and hold: the state before the first change inside the interval is what its first
        // snapshot said; every later difference is a change, and a stretch runs to the next one.
        let (mut muted, mut held) = (false, false);
        let (mut muted_since, mut held_since) = (None, None);
        for c in &i.changes {
            let (now_muted, now_held) = (c.is_muted == Some(true), c.is_on_hold == Some(true));
            let initial = c.at <= i.joined_at;
            let seq = events.find(c.at, c.sequence_number, &roster, None);
            if now_muted != muted {
                if now_muted {
                    muted_since = Some(c.at);
                    if !initial {
                        mark(
                            lane,
                            c.at,
                            MarkKind::Muted,
                            "M",
                            format!("{who} muted"),
                            seq,
                        );
                    }
                } else {
                    if let Some(from) = muted_since.take() {
                        bars.push(stretch(lane, x(from), x(c.at), BarStyle::Muted, false, who));
                    }
                    mark(
                        lane,
                        c.at,
                        MarkKind::Unmuted,
                        "m",
                        format!("{who} unmuted"),
                        seq,
                    );
                }
                muted = now_muted;
            }
            if now_held != held {
                if now_held {
                    held_since = Some(c.at);
                    if !initial {
                        mark(
                            lane,
                            c.at,
                            MarkKind::Hold,
                            "H",
                            format!("{who} put on hold"),
                            seq,
                        );
                    }
                } else {
                    if let Some(from) = held_since.take() {
                        bars.push(stretch(lane, x(from), x(c.at), BarStyle::Hold, false, who));
                    }
                    mark(
                        lane,
                        c.at,
                        MarkKind::Resumed,
                        "h",
                        format!("{who} off hold"),
                        seq,
                    );
                }
                held = now_held;
            }
        }
        if let Some(from) = muted_since {
            bars.push(stretch(
                lane,
                x(from),
                x(until),
                BarStyle::Muted,
                i.left_at.is_none(),
                who,
            ));
        }
        if let Some(from) = held_since {
            bars.push(stretch(
                lane,
                x(from),
                x(until),
                BarStyle::Hold,
                i.left_at.is_none(),
                who,
            ));
        }
    }

    for t in input.dtmf {
        // On the presser's lane when the event names a participant of this page; a tone of a
        // participant on another page is drawn there.
        let lane = match t.participant_id.as_deref() {
            Some(p) if lane_of.contains_key(p) => lane_of[p],
            Some(p) if order.iter().any(|(raw, _, _)| *raw == p) => continue,
            _ => 0,
        };
        let mut label = format!("key {}", t.tone);
        if let Some(p) = &t.participant_id {
            label.push_str(&format!(" pressed by {}", page::masked(p)));
        }
        if t.repeated {
            label.push_str(", repeated");
        }
        if t.missing_before > 0 {
            label.push_str(&format!(", {} missing before it", t.missing_before));
        }
        mark(
            lane,
            t.at,
            MarkKind::Dtmf,
            &t.tone,
            label,
            Some(t.event_seq),
        );
    }

    // Media rows: an operation overlapping the one before it takes the next row.
    let media_base = lanes.len();
    let mut row_ends: Vec<DateTime<Utc>> = Vec::new();
    let mut ops: Vec<&MediaOperation> = input.media.iter().collect();
    ops.sort_by_key(|m| (m.started_at.or(m.finished_at), m.operation_context.clone()));
    for m in ops {
        let Some(from) = m.started_at.or(m.finished_at) else {
            continue;
        };
        let to = m.finished_at.unwrap_or(call_end.max(from));
        let row = match row_ends.iter().position(|e| *e < from) {
            Some(row) => row,
            None => {
                row_ends.push(to);
                row_ends.len() - 1
            }
        };
        row_ends[row] = to;
        let lane = media_base + row;
        let name = match m.operation_context.as_str() {
            "" => m.operation.clone(),
            context => format!("{} \u{201c}{context}\u{201d}", m.operation),
        };
        let (style, glyph, outcome) = match m.outcome.as_str() {
            "completed" => (BarStyle::MediaCompleted, "✓", "completed".to_owned()),
            "failed" => (
                BarStyle::MediaFailed,
                "✗",
                format!(
                    "failed {}.{}",
                    m.result_code.unwrap_or_default(),
                    m.result_sub_code.unwrap_or_default()
                ),
            ),
            "canceled" => (BarStyle::MediaCanceled, "⊘", "cancelled".to_owned()),
            other => (BarStyle::MediaOpen, "…", other.replace('_', " ")),
        };
        let family = [m.operation.as_str()];
        let context = Some(m.operation_context.as_str());
        if let Some(started) = m.started_at {
            let seq = events.find(started, None, &family, context);
            mark(
                lane,
                started,
                MarkKind::MediaStart,
                "▷",
                format!("{name} started"),
                seq,
            );
        }
        bars.push(Bar {
            lane,
            x1: x(from),
            x2: x(to),
            style,
            open: m.finished_at.is_none(),
            label: format!("{name}: {outcome}"),
        });
        if let Some(finished) = m.finished_at {
            let seq = events.find(finished, None, &family, context);
            mark(
                lane,
                finished,
                MarkKind::MediaEnd,
                glyph,
                format!("{name} {outcome}"),
                seq,
            );
        }
    }
    for row in 0..row_ends.len().max(1) {
        lanes.push(Lane {
            kind: LaneKind::Media,
            label: if row == 0 {
                "Media".to_owned()
            } else {
                format!("Media ({})", row + 1)
            },
            y: 0.0,
        });
    }
    for (i, lane) in lanes.iter_mut().enumerate() {
        lane.y = TOP + i as f64 * LANE_HEIGHT;
    }

    if let Some(window) = window {
        marks.retain(|m| window.holds(m.at));
        // A bar that only touches the window's right edge belongs to the next window.
        let (left, right) = (x(start), x(end));
        bars.retain(|b| b.x2 >= left && b.x1 <= right && (window.last || b.x1 != right));
    }
    marks.sort_by_key(|a| (a.at, a.event_seq, a.lane));
    let ticks = (0..=5)
        .map(|n| {
            let t = start + chrono::TimeDelta::milliseconds((span * n as f64 / 5.0) as i64);
            Tick {
                x: x(t),
                relative: page::relative(t, call_start),
                absolute: crate::ui::zone::clock(t, false),
            }
        })
        .collect();
    Layout {
        width,
        height: TOP + lanes.len() as f64 * LANE_HEIGHT + 10.0,
        start: call_start,
        from: start,
        end,
        window: 1,
        windows: 1,
        lanes,
        bars,
        marks,
        ticks,
        page,
        pages,
        participants,
    }
}

fn stretch(lane: usize, x1: f64, x2: f64, style: BarStyle, open: bool, who: &str) -> Bar {
    let what = if style == BarStyle::Muted {
        "muted"
    } else {
        "on hold"
    };
    Bar {
        lane,
        x1,
        x2,
        style,
        open,
        label: format!("{who} {what}"),
    }
}

#[cfg(test)]
mod tests;
