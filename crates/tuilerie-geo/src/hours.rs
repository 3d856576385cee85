//! Opening hours: OSM `opening_hours` values parsed once per distinct value
//! with the `opening-hours` crate, evaluated in the layer's time zone
//! (French public holidays for `PH`), daylight-saving changes included.
//! A value that does not parse makes the state unknown, never an error.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use opening_hours::localization::{Country, TzLocation};
use opening_hours::{Context, OpeningHours};
use opening_hours_syntax::rules::RuleKind;
use std::sync::Arc;

/// Whether a facility is open at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenState {
    Open,
    Closed,
    Unknown,
}

type Hours = OpeningHours<TzLocation<Tz>>;

/// The parsed schedules of a layer.
pub struct Schedules {
    tz: Tz,
    /// Distinct values: parsed schedule, or the parser's message.
    parsed: Vec<Result<Hours, String>>,
    /// Distinct values as written (what a snapshot keeps to parse again).
    pub(crate) texts: Vec<Box<str>>,
    /// Per feature: index in `parsed`, `u32::MAX` without a value.
    pub(crate) per_feature: Vec<u32>,
    /// Features whose value does not parse, and a few examples.
    pub invalid: usize,
    pub invalid_examples: Vec<(usize, String, String)>,
    /// Per distinct value: the last evaluation and the interval it holds for.
    memo: Vec<std::sync::Mutex<Option<Memo>>>,
}

/// An evaluation at `from`: the state holds, and `next` is the next change,
/// for every instant in `[from, until)` (`until` = `next`, by definition of
/// the next change), so queries at "now" reuse it instead of searching the
/// rules again.
#[derive(Clone)]
struct Memo {
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    state: OpenState,
    next: Option<DateTime<Tz>>,
    next_text: Option<Arc<str>>,
}

/// How long an evaluation without a next change is reused (the rules are
/// searched over a limited horizon).
const NO_CHANGE_REUSE: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Why a value the opening-hours parser panicked on is invalid.
const PARSER_PANIC: &str = "the opening-hours parser failed on this value";

/// Days ahead in which the next opening or closing is searched: the crate's
/// own next_change looks up to the year 10000, a second of CPU for a value
/// that never changes, such as "08:00-08:00" (found by fuzzing). Beyond a
/// year and a month, a schedule has no next change worth showing.
const NEXT_CHANGE_HORIZON_DAYS: i64 = 400;

impl std::fmt::Debug for Schedules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schedules")
            .field("tz", &self.tz)
            .field("distinct", &self.parsed.len())
            .field("invalid", &self.invalid)
            .finish()
    }
}

/// Checks an `opening_hours` value: `Err` with the parser's message (its
/// first line) when it does not parse.
pub fn check(value: &str) -> Result<(), String> {
    match std::panic::catch_unwind(|| OpeningHours::parse(value)) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string().lines().next().unwrap_or("").to_string()),
        Err(_) => Err(PARSER_PANIC.to_string()),
    }
}

/// Parses an IANA time zone name (`Europe/Paris`).
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unknown time zone {name:?} (expected an IANA name such as \"Europe/Paris\")"))
}

/// The parsing context of a layer's values: French holidays, its zone.
fn context(tz: Tz) -> Context<TzLocation<Tz>> {
    Context::default().with_holidays(Country::FR.holidays()).with_locale(TzLocation::new(tz))
}

/// One value parsed in `ctx`. The parser panics on some malformed values
/// (found by fuzzing: "Nov 107:00-08:00/24:00"): such a value is invalid,
/// not a reason to lose the layer.
fn parse(v: &str, ctx: &Context<TzLocation<Tz>>) -> Result<Hours, String> {
    match std::panic::catch_unwind(|| OpeningHours::parse(v)) {
        Ok(Ok(oh)) => Ok(oh.with_context(ctx.clone())),
        Ok(Err(e)) => Err(e.to_string().lines().next().unwrap_or("").to_string()),
        Err(_) => Err(PARSER_PANIC.to_string()),
    }
}

impl Schedules {
    /// Parses the values (one per feature, `None` when absent).
    pub fn build<'a>(values: impl Iterator<Item = Option<&'a str>>, tz: Tz) -> Schedules {
        let ctx = context(tz);
        let mut distinct: hashbrown::HashMap<&'a str, u32> = hashbrown::HashMap::new();
        let mut parsed: Vec<Result<Hours, String>> = Vec::new();
        let mut texts = Vec::new();
        let mut per_feature = Vec::new();
        let mut invalid = 0;
        let mut invalid_examples = Vec::new();
        for (i, v) in values.enumerate() {
            let Some(v) = v else {
                per_feature.push(u32::MAX);
                continue;
            };
            let idx = *distinct.entry(v).or_insert_with(|| {
                parsed.push(parse(v, &ctx));
                texts.push(Box::from(v));
                (parsed.len() - 1) as u32
            });
            if let Err(e) = &parsed[idx as usize] {
                invalid += 1;
                if invalid_examples.len() < 10 {
                    invalid_examples.push((i, v.to_string(), e.clone()));
                }
            }
            per_feature.push(idx);
        }
        Schedules::from_parsed(tz, parsed, texts, per_feature, invalid, invalid_examples)
    }

    /// The schedules of a snapshot: the distinct values parsed again, the
    /// rest as kept (`None` when a feature points past the values).
    pub(crate) fn from_parts(
        tz: Tz,
        texts: Vec<Box<str>>,
        per_feature: Vec<u32>,
        invalid: usize,
        invalid_examples: Vec<(usize, String, String)>,
    ) -> Option<Schedules> {
        if per_feature.iter().any(|&i| i != u32::MAX && i as usize >= texts.len()) {
            return None;
        }
        let ctx = context(tz);
        let parsed = texts.iter().map(|v| parse(v, &ctx)).collect();
        Some(Schedules::from_parsed(tz, parsed, texts, per_feature, invalid, invalid_examples))
    }

    fn from_parsed(
        tz: Tz,
        parsed: Vec<Result<Hours, String>>,
        texts: Vec<Box<str>>,
        per_feature: Vec<u32>,
        invalid: usize,
        invalid_examples: Vec<(usize, String, String)>,
    ) -> Schedules {
        Schedules {
            tz,
            memo: parsed.iter().map(|_| std::sync::Mutex::new(None)).collect(),
            parsed,
            texts,
            per_feature,
            invalid,
            invalid_examples,
        }
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Whether feature `i` has an opening-hours value.
    pub fn has_value(&self, i: usize) -> bool {
        self.per_feature.get(i).is_some_and(|&v| v != u32::MAX)
    }

    /// Prefetches the schedule index of feature `i`.
    pub fn prefetch(&self, i: usize) {
        crate::prefetch::prefetch(self.per_feature.as_ptr().wrapping_add(i));
    }

    /// State of feature `i` at `at`, and the next change (in the layer's zone).
    pub fn evaluate(&self, i: usize, at: DateTime<Utc>) -> (OpenState, Option<DateTime<Tz>>) {
        self.memo_at(i, at).map_or((OpenState::Unknown, None), |m| (m.state, m.next))
    }

    /// The same, with the next change as RFC 3339 text, formatted once per
    /// distinct value and interval (results share a few schedules).
    pub fn evaluate_rfc3339(&self, i: usize, at: DateTime<Utc>) -> (OpenState, Option<Arc<str>>) {
        self.memo_at(i, at).map_or((OpenState::Unknown, None), |m| (m.state, m.next_text))
    }

    /// The evaluation of feature `i`'s value at `at`, reused while `at`
    /// stays in the interval of the last one; `None` without a value or
    /// when it does not parse.
    fn memo_at(&self, i: usize, at: DateTime<Utc>) -> Option<Memo> {
        let v = self.per_feature.get(i).copied().filter(|&v| v != u32::MAX)?;
        let oh = self.parsed[v as usize].as_ref().ok()?;
        let slot = &self.memo[v as usize];
        if let Ok(guard) = slot.try_lock() {
            if let Some(m) = guard.as_ref() {
                if m.from <= at && at < m.until {
                    return Some(m.clone());
                }
            }
        }
        let local = at.with_timezone(&self.tz);
        // A panic of the evaluator (as its parser has had) is an unknown state.
        let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let horizon = local + chrono::Duration::days(NEXT_CHANGE_HORIZON_DAYS);
            let next = oh.iter_range(local, horizon).next().map(|r| r.range.end).filter(|end| *end < horizon);
            (oh.state(local), next)
        }));
        let (kind, next) = evaluated.unwrap_or((RuleKind::Unknown, None));
        let state = match kind {
            RuleKind::Open => OpenState::Open,
            RuleKind::Closed => OpenState::Closed,
            RuleKind::Unknown => OpenState::Unknown,
        };
        let until = next.map_or(at + NO_CHANGE_REUSE, |n| n.with_timezone(&Utc));
        let memo = Memo { from: at, until, state, next, next_text: next.map(|t| Arc::from(t.to_rfc3339())) };
        if let Ok(mut guard) = slot.try_lock() {
            *guard = Some(memo.clone());
        }
        Some(memo)
    }

    /// Only the state (from the same memo as [`Schedules::evaluate`]).
    pub fn state(&self, i: usize, at: DateTime<Utc>) -> OpenState {
        self.evaluate(i, at).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_value_the_parser_panics_on_is_invalid_not_fatal() {
        let tz = parse_timezone("Europe/Paris").unwrap();
        let s = Schedules::build(["Nov 107:00-08:00/24:00", "Mo-Fr 08:00-12:00"].into_iter().map(Some), tz);
        assert_eq!(s.invalid, 1);
        assert!(s.invalid_examples[0].2.contains("parser failed"), "{:?}", s.invalid_examples);
        assert_eq!(s.state(0, utc("2063-12-10T10:00:00Z")), OpenState::Unknown);
        assert_eq!(s.state(1, utc("2026-12-01T09:00:00Z")), OpenState::Open);
    }

    #[test]
    fn a_schedule_that_never_changes_is_evaluated_quickly() {
        // "08:00-08:00" is open all day every day: the search for its next
        // change took a second (up to the year 10000); it stops at the horizon.
        let tz = parse_timezone("Europe/Paris").unwrap();
        let s = Schedules::build(["08:00-08:00", "Jan-Mar Mo 10:00-11:00"].into_iter().map(Some), tz);
        let t = std::time::Instant::now();
        let (state, next) = s.evaluate(0, utc("2025-07-30T10:00:00Z"));
        assert!(t.elapsed() < std::time::Duration::from_millis(200), "{:?}", t.elapsed());
        assert_eq!((state, next), (OpenState::Open, None));
        // A seasonal schedule still finds its next opening months ahead.
        let (state, next) = s.evaluate(1, utc("2025-07-30T10:00:00Z"));
        assert_eq!(state, OpenState::Closed);
        assert_eq!(next.unwrap(), tz.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap());
    }

    #[test]
    fn hours_are_evaluated_in_paris_time_across_the_spring_dst_change() {
        let tz = parse_timezone("Europe/Paris").unwrap();
        let s = Schedules::build(["Mo-Su 01:00-04:00", "Mo-Sa 09:00-12:00,14:00-18:00"].into_iter().map(Some), tz);
        // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST.
        // 00:30 UTC = 01:30 CET: open.
        assert_eq!(s.state(0, utc("2026-03-29T00:30:00Z")), OpenState::Open);
        // 01:30 UTC = 03:30 CEST: still open; closes at 04:00 CEST = 02:00 UTC.
        let (st, next) = s.evaluate(0, utc("2026-03-29T01:30:00Z"));
        assert_eq!(st, OpenState::Open);
        assert_eq!(next.unwrap().with_timezone(&Utc), utc("2026-03-29T02:00:00Z"));
        // 02:30 UTC = 04:30 CEST: closed (a naive UTC+1 evaluation would say open).
        assert_eq!(s.state(0, utc("2026-03-29T02:30:00Z")), OpenState::Closed);
        // Autumn: 2026-10-25 03:00 CEST → 02:00 CET. 09:30 local = 08:30 UTC (CET).
        assert_eq!(s.state(1, utc("2026-10-24T07:30:00Z")), OpenState::Open, "Saturday 09:30 CEST");
        assert_eq!(s.state(1, utc("2026-10-26T08:30:00Z")), OpenState::Open, "Monday 09:30 CET");
        assert_eq!(s.state(1, utc("2026-10-26T07:30:00Z")), OpenState::Closed, "Monday 08:30 CET");
        let (_, next) = s.evaluate(1, utc("2026-10-26T07:30:00Z"));
        assert_eq!(next.unwrap(), tz.with_ymd_and_hms(2026, 10, 26, 9, 0, 0).unwrap());
    }

    #[test]
    fn unparsable_values_are_unknown_and_counted() {
        let tz = parse_timezone("Europe/Paris").unwrap();
        let s = Schedules::build([Some("lundi 9h-12h"), None, Some("24/7"), Some("lundi 9h-12h")].into_iter(), tz);
        assert_eq!(s.invalid, 2);
        assert_eq!(s.state(0, utc("2026-01-05T10:00:00Z")), OpenState::Unknown);
        assert_eq!(s.state(1, utc("2026-01-05T10:00:00Z")), OpenState::Unknown);
        assert!(!s.has_value(1));
        assert_eq!(s.state(2, utc("2026-01-05T10:00:00Z")), OpenState::Open);
        assert_eq!(s.invalid_examples[0].0, 0);
    }

    #[test]
    fn public_holidays_follow_the_french_calendar() {
        let tz = parse_timezone("Europe/Paris").unwrap();
        let s = Schedules::build([Some("Mo-Sa 09:00-18:00; PH off")].into_iter(), tz);
        // 2026-07-14 (Tuesday) is Bastille Day.
        assert_eq!(s.state(0, utc("2026-07-14T10:00:00Z")), OpenState::Closed);
        assert_eq!(s.state(0, utc("2026-07-15T10:00:00Z")), OpenState::Open);
    }

    #[test]
    fn unknown_time_zones_are_rejected_with_a_message() {
        assert!(parse_timezone("Europe/Atlantis").unwrap_err().contains("Europe/Atlantis"));
    }

    #[test]
    fn reused_evaluations_equal_fresh_ones_across_a_week_and_a_dst_change() {
        let tz = parse_timezone("Europe/Paris").unwrap();
        let values =
            ["Mo-Fr 08:00-12:00,13:30-17:30; Sa 09:00-12:00", "24/7", "Mo-Su 07:00-21:00; PH off", "Tu,Th 14:00-18:00"];
        let memo = Schedules::build(values.iter().copied().map(Some), tz);
        // Every 7 minutes from Friday 2026-10-23 to Tuesday 2026-11-03 (the
        // clocks go back on 2026-10-25; 1 November is a public holiday).
        let mut t = utc("2026-10-23T00:00:00Z");
        while t < utc("2026-11-03T00:00:00Z") {
            for (i, value) in values.iter().enumerate() {
                let fresh = Schedules::build(std::iter::once(Some(*value)), tz);
                assert_eq!(memo.evaluate(i, t), fresh.evaluate(0, t), "{value} at {t}");
                let (state, next) = fresh.evaluate(0, t);
                let text = memo.evaluate_rfc3339(i, t);
                assert_eq!((text.0, text.1.as_deref()), (state, next.map(|n| n.to_rfc3339()).as_deref()));
            }
            t += chrono::TimeDelta::minutes(7);
        }
        // Going back in time is answered afresh too.
        let early = utc("2026-10-01T10:00:00Z");
        assert_eq!(memo.evaluate(0, early), Schedules::build(std::iter::once(Some(values[0])), tz).evaluate(0, early));
    }
}
