//! DTMF input the application asks for (GA calls): a recognition (collect keys after an optional
//! prompt, until the maximum, a stop tone or a timeout), continuous recognition (each key reported
//! as it is pressed), and tones the application sends.

use std::sync::Arc;
use std::time::Duration;

use crate::emulator::sim::call::{Operation, Recognizing};
use crate::emulator::sim::clock::SimTime;
use crate::emulator::sim::lifecycle::play_length;
use crate::emulator::sim::model::{
    EventKind, RecognizeStage, ResultInfo, CANCELLED, DTMF_STOPPED, INITIAL_SILENCE,
    INTER_DIGIT_TIMEOUT, MAX_DIGITS, STOP_TONE, SUCCESS,
};
use crate::emulator::sim::timers::Timer;
use crate::emulator::sim::{PlaySource, SimError, Simulator};

/// The prompt could not be fetched.
const PROMPT_FAILED: ResultInfo = ResultInfo {
    code: 500,
    sub_code: 8511,
    message: "Action failed, encountered failure while trying to play the prompt.",
};

/// A DTMF recognition as the application asks for it.
#[derive(Debug, Clone)]
pub struct RecognizeRequest {
    /// Raw id or participant id of the participant whose keys count.
    pub target: String,
    pub prompt: Vec<PlaySource>,
    pub max_tones: usize,
    /// Canonical tones (`#`, `*`, `0`…) that end the recognition.
    pub stop_tones: Vec<char>,
    pub initial_silence: Duration,
    pub inter_tone: Duration,
    pub context: Option<String>,
    /// Where the recognition's events go (GA `operationCallbackUri`); `None`: the call's
    /// callbackUri.
    pub callback: Option<Arc<str>>,
    /// Cancels running and queued plays first.
    pub interrupt: bool,
}

impl Simulator {
    /// Starts a recognition; one at a time per call (a second one is a conflict).
    pub fn recognize(
        &mut self,
        call_id: &str,
        request: RecognizeRequest,
        now: SimTime,
    ) -> Result<(), SimError> {
        self.established_call(call_id)?;
        let call = self.calls.get(call_id).expect("checked above");
        if call.recognizing.is_some() {
            return Err(SimError::Conflict(format!(
                "a recognition is already running in call {call_id}"
            )));
        }
        let index = call.find_present(&request.target).ok_or_else(|| {
            SimError::NotFound(format!(
                "participant {} is not in call {call_id}",
                request.target
            ))
        })?;
        let target = call.present[index].identifier.raw_id.clone();
        let prompt = play_length(call.scenario.as_deref(), &request.prompt, self.config.audio);
        if request.interrupt {
            self.cancel_plays(call_id, now);
        }
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.next_recognize += 1;
        let id = call.next_recognize;
        let Ok(prompt) = prompt else {
            call.emit_to(
                &mut self.outbox,
                self.origin,
                now,
                EventKind::Recognize {
                    context: request.context,
                    stage: RecognizeStage::Failed,
                    tones: Vec::new(),
                    result: PROMPT_FAILED,
                },
                request.callback,
            );
            return Ok(());
        };
        call.recognizing = Some(Recognizing {
            id,
            target,
            context: request.context,
            callback: request.callback,
            max_tones: request.max_tones.max(1),
            stop_tones: request.stop_tones,
            initial_silence: request.initial_silence,
            inter_tone: request.inter_tone,
            tones: Vec::new(),
            listening: false,
            generation: 0,
        });
        let call_id = call_id.to_owned();
        if prompt.is_zero() {
            self.prompt_done(&call_id, id, now);
        } else {
            self.timers.schedule(
                now + prompt,
                Timer::PromptDone {
                    call_id,
                    recognize: id,
                },
            );
        }
        Ok(())
    }

    /// The prompt has played: the initial silence timeout starts.
    pub(super) fn prompt_done(&mut self, call_id: &str, recognize: u64, now: SimTime) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let Some(r) = call.recognizing.as_mut().filter(|r| r.id == recognize) else {
            return; // ended meanwhile
        };
        if r.listening {
            return; // a key cut the prompt short
        }
        r.listening = true;
        let timer = Timer::RecognizeTimeout {
            call_id: call_id.to_owned(),
            recognize,
            generation: r.generation,
        };
        self.timers.schedule(now + r.initial_silence, timer);
    }

    /// Keys pressed by `raw_id`: collected by a recognition that listens to them.
    pub(super) fn recognize_tones(
        &mut self,
        call_id: &str,
        raw_id: &str,
        tones: &[char],
        now: SimTime,
    ) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let Some(r) = call.recognizing.as_mut().filter(|r| r.target == raw_id) else {
            return;
        };
        // A key during the prompt ends the prompt: listening starts at once.
        r.listening = true;
        let mut outcome = None;
        for &tone in tones {
            if r.stop_tones.contains(&tone) {
                outcome = Some(STOP_TONE);
                break;
            }
            r.tones.push(tone);
            if r.tones.len() >= r.max_tones {
                outcome = Some(MAX_DIGITS);
                break;
            }
        }
        match outcome {
            Some(result) => {
                let r = call.recognizing.take().expect("checked above");
                call.emit_to(
                    &mut self.outbox,
                    self.origin,
                    now,
                    EventKind::Recognize {
                        context: r.context,
                        stage: RecognizeStage::Completed,
                        tones: r.tones,
                        result,
                    },
                    r.callback,
                );
            }
            None => {
                r.generation += 1;
                let timer = Timer::RecognizeTimeout {
                    call_id: call_id.to_owned(),
                    recognize: r.id,
                    generation: r.generation,
                };
                self.timers.schedule(now + r.inter_tone, timer);
            }
        }
    }

    pub(super) fn recognize_timeout(
        &mut self,
        call_id: &str,
        recognize: u64,
        generation: u64,
        now: SimTime,
    ) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let current = call
            .recognizing
            .as_ref()
            .is_some_and(|r| r.id == recognize && r.generation == generation);
        if !current {
            return; // a key came meanwhile, or the recognition ended
        }
        let r = call.recognizing.take().expect("checked above");
        let result = if r.tones.is_empty() {
            INITIAL_SILENCE
        } else {
            INTER_DIGIT_TIMEOUT
        };
        call.emit_to(
            &mut self.outbox,
            self.origin,
            now,
            EventKind::Recognize {
                context: r.context,
                stage: RecognizeStage::Failed,
                tones: r.tones,
                result,
            },
            r.callback,
        );
    }

    /// Cancels the running recognition, if any (400/8508, with its own context).
    pub(super) fn cancel_recognition(&mut self, call_id: &str, now: SimTime) -> bool {
        let call = self.calls.get_mut(call_id).expect("a known call");
        let Some(r) = call.recognizing.take() else {
            return false;
        };
        call.emit_to(
            &mut self.outbox,
            self.origin,
            now,
            EventKind::Recognize {
                context: r.context,
                stage: RecognizeStage::Canceled,
                tones: Vec::new(),
                result: CANCELLED,
            },
            r.callback,
        );
        true
    }

    /// From now on each key `who` presses is reported (with `context`, to `callback` when it is
    /// given); so is the recognition's stop when the call ends. A second start replaces the first.
    pub fn start_continuous_dtmf(
        &mut self,
        call_id: &str,
        who: &str,
        context: Option<String>,
        callback: Option<Arc<str>>,
    ) -> Result<(), SimError> {
        let raw_id = self.present_raw_id(call_id, who)?;
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.continuous
            .insert(raw_id, Operation { context, callback });
        Ok(())
    }

    /// Stops reporting `who`'s keys; says so in an event, which is the stop request's: it goes to
    /// `callback` when the stop gave one, else to the call's callbackUri (not to the start's URI).
    pub fn stop_continuous_dtmf(
        &mut self,
        call_id: &str,
        who: &str,
        context: Option<String>,
        callback: Option<Arc<str>>,
        now: SimTime,
    ) -> Result<(), SimError> {
        let raw_id = self.present_raw_id(call_id, who)?;
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.continuous.remove(&raw_id);
        call.emit_to(
            &mut self.outbox,
            self.origin,
            now,
            EventKind::DtmfStopped {
                context,
                result: DTMF_STOPPED,
            },
            callback,
        );
        Ok(())
    }

    /// The application sends tones to `who`; they are played at once. The result goes to
    /// `callback` when it is given.
    pub fn send_dtmf(
        &mut self,
        call_id: &str,
        who: &str,
        context: Option<String>,
        callback: Option<Arc<str>>,
        now: SimTime,
    ) -> Result<(), SimError> {
        self.present_raw_id(call_id, who)?;
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.emit_to(
            &mut self.outbox,
            self.origin,
            now,
            EventKind::DtmfSent {
                context,
                result: SUCCESS,
            },
            callback,
        );
        Ok(())
    }

    /// Whether `who` is in the (established) call.
    pub fn check_participant(&self, call_id: &str, who: &str) -> Result<(), SimError> {
        self.present_raw_id(call_id, who).map(|_| ())
    }

    /// The raw id of a participant of an established call.
    fn present_raw_id(&self, call_id: &str, who: &str) -> Result<String, SimError> {
        let call = self.established_call(call_id)?;
        let index = call.find_present(who).ok_or_else(|| {
            SimError::NotFound(format!("participant {who} is not in call {call_id}"))
        })?;
        Ok(call.present[index].identifier.raw_id.clone())
    }
}
