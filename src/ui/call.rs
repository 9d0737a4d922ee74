//! The call page: summary, swimlane (with its table twin), participants and the trust panel.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::calls::{self, CallSummary};
use crate::api::events::{self as api_events, EventFilter};
use crate::api::pagination::{Order, PageRequest};
use crate::error::ApiError;
use crate::http::state::AppState;
use crate::ui::page::{self, Nav};
use crate::ui::timeline::{self, BarStyle, Input, LaneKind, Layout, MarkKind, LANE_HEIGHT, TOP};
use crate::ui::trust::{self, Trust};
use crate::ui::zone;

/// The most rows of each kind one call page reads: far above any real call, and a bound on what a
/// flood of events under one call id can make a page cost.
const MAX_ROWS: i64 = 20_000;
const WIDTH: f64 = 1100.0;

fn everything<K>(resource: &'static str) -> PageRequest<K> {
    PageRequest {
        resource,
        limit: MAX_ROWS,
        order: Order::Asc,
        after: None,
    }
}

#[derive(Deserialize)]
pub struct CallQuery {
    /// The page of participant lanes, from 1.
    lanes: Option<usize>,
    /// The window of time within that page, from 1 (busy pages are cut into windows).
    window: Option<usize>,
}

pub async fn page(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<CallQuery>,
) -> HttpResponse {
    let at = (query.lanes.unwrap_or(1), query.window.unwrap_or(1));
    match render(&state, &id, at).await {
        Ok(markup) => page::html_response(StatusCode::OK, markup),
        Err(error) => page::error(&error),
    }
}

async fn render(
    state: &AppState,
    id: &str,
    (lane_page, window): (usize, usize),
) -> Result<Markup, ApiError> {
    let call = match calls::find(state, id).await {
        Ok(call) => call,
        Err(ApiError::NotFound(message)) => return not_projected(state, id, message).await,
        Err(error) => return Err(error),
    };
    let (all_intervals, all_events, all_dtmf, all_media) = (
        everything("call_participants"),
        everything("call_events"),
        everything("call_dtmf"),
        everything("call_media"),
    );
    let (intervals, events, dtmf, media, duplicates) = tokio::try_join!(
        calls::participants_page(state, id, &all_intervals),
        calls::events_page(state, id, &all_events),
        calls::dtmf_page(state, id, &all_dtmf),
        calls::media_page(state, id, &all_media),
        calls::duplicates_absorbed(state, id),
    )?;
    let input = Input {
        call: &call,
        intervals: &intervals.items,
        dtmf: &dtmf.items,
        media: &media.items,
        events: &events.items,
    };
    let layout = timeline::layout_window(&input, WIDTH, lane_page, window);
    let trust = trust::assess(Some(&call), &events.items, &dtmf.items);
    let body = html! {
        h1 { "Call " span.id { (call.call_id) } }
        (summary(&call))
        @if trust.unprojected > 0 {
            p.banner role="status" {
                "The call model is behind: " (trust.unprojected)
                " stored events of this call are not in it yet (projected at "
                (page::time(call.projected_at)) "). Reload in a moment."
            }
        }
        (swimlane(&call, &layout))
        (marks_table(&call, &layout))
        (participants(&input, &layout))
        (trust_panel(&call, &trust, duplicates))
    };
    Ok(page::layout(
        &format!("Call {}", call.call_id),
        Nav::Calls,
        body,
    ))
}

/// A call id with stored events but no row in the call model yet.
async fn not_projected(state: &AppState, id: &str, message: String) -> Result<Markup, ApiError> {
    let filter = EventFilter {
        call_id: Some(id.to_owned()),
        ..EventFilter::default()
    };
    let first = PageRequest {
        resource: "events",
        limit: 1,
        order: Order::Asc,
        after: None,
    };
    let found = api_events::list_page(state, &filter, &first).await?;
    if found.items.is_empty() {
        return Err(ApiError::NotFound(message));
    }
    Ok(page::layout(
        &format!("Call {id}"),
        Nav::Calls,
        html! {
            h1 { "Call " span.id { (id) } }
            p.banner role="status" {
                "Events of this call are stored but the call model has not reached it yet "
                "(projection lagging). Reload in a moment, or read its "
                a href=(page::link("/ui/events", &[("call_id", id)])) { "events in the audit log" } "."
            }
        },
    ))
}

fn summary(call: &CallSummary) -> Markup {
    let outcome = match (&call.failure_code, &call.failure_sub_code) {
        (Some(code), sub) => format!(
            "{} (result {}.{})",
            call.outcome.replace('_', " "),
            code,
            sub.unwrap_or_default()
        ),
        (None, _) => call.outcome.replace('_', " "),
    };
    html! {
        section aria-labelledby="summary-h" {
            h2 #summary-h { "Summary" }
            dl.summary {
                div { dt { "State" } dd { (call.state.as_deref().unwrap_or("unknown")) } }
                div { dt { "Outcome" } dd class=(format!("outcome {}", call.outcome)) { (outcome) } }
                @if let Some(message) = &call.failure_message {
                    div { dt { "Failure" } dd { (message) } }
                }
                div { dt { "Duration" } dd { (page::duration(call.duration_ms)) } }
                div { dt { "Participants" } dd { (call.participant_count) " (at most " (call.peak_participants) " at once)" } }
                div { dt { "Events" } dd { (call.event_count) } }
                div { dt { "Key presses" } dd { (call.dtmf_count) } }
                div { dt { "Media" } dd { (call.media_succeeded) " of " (call.media_total) " succeeded" } }
                div { dt { "First event" } dd { (page::time(call.first_event_at)) } }
                div { dt { "Connected" } dd { (page::opt_time(call.connected_at)) } }
                div { dt { "Disconnected" } dd { (page::opt_time(call.disconnected_at)) } }
                div { dt { "Correlation id" } dd.id { (call.correlation_id.as_deref().unwrap_or("—")) } }
            }
            p.links {
                a href=(page::link("/ui/events", &[("call_id", &call.call_id)])) { "This call in the audit log" }
                " · "
                a href=(format!("/api/v1/calls/{}", page::segment(&call.call_id))) { "as JSON (API)" }
            }
        }
    }
}

fn bar_class(style: BarStyle) -> &'static str {
    match style {
        BarStyle::Presence => "bar presence",
        BarStyle::Muted => "bar muted",
        BarStyle::Hold => "bar hold",
        BarStyle::MediaCompleted => "bar media completed",
        BarStyle::MediaFailed => "bar media failed",
        BarStyle::MediaCanceled => "bar media canceled",
        BarStyle::MediaOpen => "bar media open",
    }
}

fn pager(call: &CallSummary, layout: &Layout) -> Markup {
    let href = |lanes: usize, window: usize| {
        format!(
            "/ui/calls/{}?lanes={lanes}&window={window}#timeline-h",
            page::segment(&call.call_id)
        )
    };
    let (lanes, window) = (layout.page, layout.window);
    html! {
        @if layout.pages > 1 {
            nav.pager aria-label="Participant lanes" {
                "Participants " ((lanes - 1) * timeline::LANES_PER_PAGE + 1) "–"
                ((lanes * timeline::LANES_PER_PAGE).min(layout.participants))
                " of " (layout.participants) ". "
                @if lanes > 1 { a href=(href(lanes - 1, 1)) { "Previous lanes" } " " }
                @if lanes < layout.pages { a href=(href(lanes + 1, 1)) { "Next lanes" } }
            }
        }
        @if layout.windows > 1 {
            nav.pager aria-label="Windows of time" {
                "Time " (window) " of " (layout.windows) ": " (page::relative(layout.from, layout.start))
                " to " (page::relative(layout.end, layout.start))
                " (at most " (timeline::MARKS_PER_WINDOW) " marks a window). "
                @if window > 1 { a href=(href(lanes, window - 1)) { "Earlier" } " " }
                @if window < layout.windows { a href=(href(lanes, window + 1)) { "Later" } }
            }
        }
    }
}

fn swimlane(call: &CallSummary, layout: &Layout) -> Markup {
    let w = layout.width;
    let h = layout.height;
    html! {
        section aria-labelledby="timeline-h" {
            h2 #timeline-h { "Timeline" }
            p { a href="#marks-h" { "Skip to the timeline as a table" } }
            (pager(call, layout))
            p.legend {
                span.key.presence {} " in the call · "
                span.key.muted {} " M: muted · "
                span.key.hold {} " H: on hold · ◆ key press · ▷ media start, ✓ completed, ✗ failed (code), ⊘ cancelled · "
                "every mark links to the stored event behind it; times are " (zone::current().name())
            }
            div.swimlane-wrap {
                svg.swimlane role="group" aria-labelledby="swimlane-title" viewBox=(format!("0 0 {w} {h}"))
                    width=(w) height=(h) xmlns="http://www.w3.org/2000/svg" {
                    title #swimlane-title { "Swimlane of call " (call.call_id) ": " (layout.marks.len()) " marks in time order" }
                    defs {
                        pattern #hatch patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)" {
                            rect.hatch-bg width="6" height="6" {}
                            line.hatch-line x1="0" y1="0" x2="0" y2="6" {}
                        }
                        pattern #dots patternUnits="userSpaceOnUse" width="6" height="6" {
                            rect.dots-bg width="6" height="6" {}
                            circle.dots-dot cx="3" cy="3" r="1.4" {}
                        }
                    }
                    @for (i, lane) in layout.lanes.iter().enumerate() {
                        rect class=(if i % 2 == 0 { "lane even" } else { "lane odd" })
                            x="0" y=(lane.y) width=(w) height=(LANE_HEIGHT) {}
                        text.lane-label x="8" y=(lane.y + 25.0) { (truncate(&lane.label, 26)) }
                    }
                    @for tick in &layout.ticks {
                        line.tick x1=(tick.x) y1=(TOP - 6.0) x2=(tick.x) y2=(h - 10.0) {}
                        text.tick-label x=(tick.x) y="14" text-anchor="middle" { (tick.relative) }
                        text.tick-label x=(tick.x) y="30" text-anchor="middle" { (tick.absolute) }
                    }
                    @for bar in &layout.bars {
                        @let lane = &layout.lanes[bar.lane];
                        @let (y, height) = match bar.style {
                            BarStyle::Muted => (lane.y + 8.0, 12.0),
                            BarStyle::Hold => (lane.y + 20.0, 12.0),
                            _ => (lane.y + 10.0, 20.0),
                        };
                        @let width = (bar.x2 - bar.x1).max(2.0);
                        g.bar-group {
                            title { (bar.label) }
                            rect class=(bar_class(bar.style)) x=(bar.x1) y=(y) width=(width) height=(height) {}
                            @if matches!(bar.style, BarStyle::Muted | BarStyle::Hold) && width > 16.0 {
                                text.stretch-label x=(bar.x1 + 4.0) y=(y + 10.0) {
                                    (if bar.style == BarStyle::Muted { "M" } else { "H" })
                                }
                            }
                            @if bar.open {
                                path.open-end d=(format!("M{} {} l8 {} l-8 {} z", bar.x2, y, height / 2.0, height / 2.0)) {}
                            }
                        }
                    }
                    @for mark in &layout.marks {
                        @let lane = &layout.lanes[mark.lane];
                        @let cy = lane.y + LANE_HEIGHT / 2.0;
                        @let name = format!("{} at {} ({})", mark.label, zone::clock(mark.at, true), page::relative(mark.at, layout.start));
                        @match mark.event_seq {
                            Some(seq) => {
                                a.mark href=(format!("/ui/events/{seq}")) aria-label=(name) data-kind=(kind_name(mark.kind)) {
                                    title { (name) }
                                    (glyph(mark, cy))
                                }
                            }
                            None => {
                                g.mark.unlinked data-kind=(kind_name(mark.kind)) {
                                    title { (name) ", no stored event found" }
                                    (glyph(mark, cy))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn glyph(mark: &timeline::Mark, cy: f64) -> Markup {
    let x = mark.x;
    html! {
        rect.hit x=(x - 12.0) y=(cy - 12.0) width="24" height="24" {}
        @match mark.kind {
            MarkKind::Dtmf => {
                path.shape.dtmf d=(format!("M{x} {} l10 10 l-10 10 l-10 -10 z", cy - 10.0)) {}
                text.glyph x=(x) y=(cy + 4.0) text-anchor="middle" { (truncate(&mark.glyph, 2)) }
            }
            MarkKind::State => {
                line.shape.state x1=(x) y1=(cy - 14.0) x2=(x) y2=(cy + 14.0) {}
                circle.shape.state-dot cx=(x) cy=(cy) r="7" {}
                text.glyph.small x=(x) y=(cy + 3.5) text-anchor="middle" { (mark.glyph) }
            }
            _ => {
                circle.shape cx=(x) cy=(cy) r="8" {}
                text.glyph.small x=(x) y=(cy + 3.5) text-anchor="middle" { (mark.glyph) }
            }
        }
    }
}

fn kind_name(kind: MarkKind) -> &'static str {
    match kind {
        MarkKind::State => "state",
        MarkKind::Join => "join",
        MarkKind::Leave => "leave",
        MarkKind::Muted => "muted",
        MarkKind::Unmuted => "unmuted",
        MarkKind::Hold => "hold",
        MarkKind::Resumed => "resumed",
        MarkKind::Dtmf => "dtmf",
        MarkKind::MediaStart => "media-start",
        MarkKind::MediaEnd => "media-end",
    }
}

fn truncate(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(chars - 1).collect();
        cut.push('…');
        cut
    }
}

fn marks_table(call: &CallSummary, layout: &Layout) -> Markup {
    html! {
        section aria-labelledby="marks-h" {
            h2 #marks-h { "Timeline as a table" }
            table {
                caption { "Every mark of the timeline above (this page of lanes and window of time), in time order, with the stored event behind it" }
                thead { tr {
                    th scope="col" { "Time (" (zone::current().name()) ")" } th scope="col" { "Call time" }
                    th scope="col" { "Lane" } th scope="col" { "What" } th scope="col" { "Event" }
                } }
                tbody {
                    @for mark in &layout.marks {
                        tr {
                            td { (page::time(mark.at)) }
                            td.num { (page::relative(mark.at, layout.start)) }
                            td { (layout.lanes[mark.lane].label) }
                            td { (mark.label) }
                            td { @match mark.event_seq {
                                Some(seq) => a href=(format!("/ui/events/{seq}")) { "event " (seq) },
                                None => span.none { "none found" },
                            } }
                        }
                    }
                }
            }
            p { "All " (call.event_count) " events: "
                a href=(page::link("/ui/events", &[("call_id", &call.call_id)])) { "audit log of this call" } "." }
        }
    }
}

/// The presence intervals of this page's lanes: the table is paged with the picture.
fn participants(input: &Input<'_>, layout: &Layout) -> Markup {
    let shown: std::collections::HashSet<&str> = layout
        .lanes
        .iter()
        .filter_map(|l| match &l.kind {
            LaneKind::Participant { raw_id, .. } => Some(raw_id.as_str()),
            _ => None,
        })
        .collect();
    html! {
        section aria-labelledby="participants-h" {
            h2 #participants-h { "Participants" }
            table {
                caption { "Presence intervals by join time of this page's participants; ids masked, the full id is on the participant's page" }
                thead { tr {
                    th scope="col" { "Participant" } th scope="col" { "Kind" }
                    th scope="col" { "Joined" } th scope="col" { "Left" } th scope="col" { "Mute/hold changes" }
                } }
                tbody {
                    @for i in input.intervals.iter().filter(|i| shown.contains(i.raw_id.as_str())) {
                        tr {
                            td { a.id href=(format!("/ui/participants/{}", page::segment(&i.raw_id))) { (i.display_id) } }
                            td { (i.kind) }
                            td { (page::time(i.joined_at)) " " span.rel { (page::relative(i.joined_at, input.call.first_event_at)) } }
                            td { (page::opt_time(i.left_at)) }
                            td.num { (i.changes.len().saturating_sub(usize::from(i.interval_no == 0))) }
                        }
                    }
                }
            }
        }
    }
}

fn trust_panel(call: &CallSummary, trust: &Trust, duplicates: i64) -> Markup {
    html! {
        section.trust aria-labelledby="trust-h" {
            h2 #trust-h { "Can this history be trusted?" }
            dl.summary {
                div { dt { "Events received" } dd { (trust.stored as i64 + duplicates) " (stored and duplicate deliveries)" } }
                div { dt { "Events stored" } dd { (trust.stored) " (the call model counts " (call.event_count) ")" } }
                div { dt { "Duplicates absorbed" } dd { (duplicates)
                    " (deliveries of an event already stored, answered without storing it again; "
                    "what the sender repeated under new ids is below)" } }
                div { dt { "Participant snapshots repeated" } dd { (trust.snapshot_repeats) " (a snapshot number already seen, sent again as another event)" } }
                div { dt { "Arrived out of order" } dd { (trust.out_of_order) " (ordered by the sender's time and sequence number, so the model is unaffected)" } }
                div { dt { "Key presses repeated" } dd { (trust.dtmf_repeats) } }
                div { dt { "Key presses missing (sequence gaps)" } dd { (trust.dtmf_missing) } }
                div { dt { "Unknown event types kept" } dd {
                    @if trust.unknown_types.is_empty() { "none" }
                    @for (name, count) in &trust.unknown_types {
                        a href=(page::link("/ui/events", &[("call_id", &call.call_id), ("type", name)])) { (name) } " × " (count) " "
                    }
                } }
                div { dt { "Authentication of deliveries" } dd {
                    ul { @for ((scheme, principal), count) in &trust.auth {
                        li { (scheme) @if !principal.is_empty() { " as " span.id { (principal) } } ": " (count) " events" }
                    } }
                } }
                div { dt { "Projection" } dd {
                    @if trust.unprojected == 0 { "up to date" } @else { (trust.unprojected) " events behind" }
                    "; projected at " (page::time(call.projected_at))
                    @if let Some(last) = trust.last_received { ", last event received " (page::time(last)) }
                } }
            }
        }
    }
}
