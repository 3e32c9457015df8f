//! OS rollouts: a release (one build per group of models) offered to the devices sold,
//! in waves that grow, with automatic halts on failure rates.
//!
//! - **Eligibility** ([`Release::offers`]): the device's model has a build, and its
//!   current version is at least `min_version` and older than the release's.
//! - **Stable bucketing** ([`bucket`]): `xxh3(rollout id, serial) mod 10000`. A device
//!   belongs to the first wave whose percentage covers its bucket, so it never moves
//!   between waves and each wave contains the earlier ones.
//! - **The book** ([`RolloutBook`]): like a sale's, its state changes only by applying
//!   [`RolloutEvent`]s, which only its `decide_*` functions make, so the same code
//!   decides live, recovers from a journal, and rehearses ([`simulate`]) on a
//!   simulated clock. Time is always an argument.
//! - **Failure rate**: `failed / (installed + failed)` over distinct devices. A report
//!   that takes it above `error_threshold` once at least `min_reports` devices have
//!   reported halts the rollout in the same decision.

use crate::ids::{bounded_text, MarketCode, ProductId, ReleaseId, RolloutId, Serial, TextError};
use crate::version::OsVersion;
use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Buckets a rollout spreads devices over: a wave's percentage covers `percent × 100`.
pub const BUCKETS: u16 = 10_000;
/// Most waves in one rollout.
pub const WAVES_MAX: usize = 20;
/// Most builds in one release.
pub const BUILDS_MAX: usize = 100;
/// Most markets in one rollout.
pub const MARKETS_MAX: usize = 250;
/// Longest a wave may be set to soak: a year.
pub const SOAK_HOURS_MAX: u32 = 24 * 366;
/// Largest build we accept: 64 GiB.
pub const BUILD_SIZE_MAX: u64 = 64 << 30;

/// The bucket of `serial` in `rollout`: stable across restarts, machines and versions.
pub fn bucket(rollout: &RolloutId, serial: &Serial) -> u16 {
    // The hash of `rollout 0x00 serial`, streamed so a check-in allocates nothing.
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(rollout.as_str().as_bytes());
    hasher.update(&[0]);
    hasher.update(serial.as_str().as_bytes());
    (hasher.digest() % u64::from(BUCKETS)) as u16
}

/// The key a device is tallied under in memory: 8 bytes, not its serial.
fn device_key(serial: &Serial) -> u64 {
    xxhash_rust::xxh3::xxh3_64(serial.as_str().as_bytes())
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RolloutError {
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("{0}")]
    Invalid(String),
    /// The action does not fit the rollout's state (a 409).
    #[error("{0}")]
    Conflict(String),
    /// A device reporting on a rollout that never offered it a build (a 409).
    #[error("rollout {rollout} offered no build to this device; check in first")]
    NotOffered { rollout: RolloutId },
}

fn invalid(message: impl Into<String>) -> RolloutError {
    RolloutError::Invalid(message.into())
}

/// One build of a release: the models it is for, their Android base, and the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Build {
    #[schema(example = json!(["mi-6", "mi-max-2"]))]
    pub models: Vec<ProductId>,
    /// The Android version the build is based on.
    #[schema(example = "Android 7.1")]
    pub base: String,
    #[schema(example = "https://updates.example.com/miui-9/mi-6.zip")]
    pub url: String,
    /// Hex SHA-256 of the file.
    #[schema(pattern = r"^[0-9a-f]{64}$")]
    pub sha256: String,
    /// Bytes.
    #[schema(minimum = 1, maximum = 68719476736.0)]
    pub size: u64,
}

/// An OS release (`POST /v1/os/releases`): a version, and a build per group of models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Release {
    #[schema(example = "miui-9")]
    pub id: ReleaseId,
    #[schema(
        example = "MIUI 9",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[schema(value_type = String, example = "9.0", pattern = r"^[0-9]{1,9}(\.[0-9]{1,9}){0,7}$")]
    pub version: OsVersion,
    #[schema(min_items = 1, max_items = 100)]
    pub builds: Vec<Build>,
    /// Devices older than this cannot take the release.
    #[schema(value_type = String, example = "8.0", pattern = r"^[0-9]{1,9}(\.[0-9]{1,9}){0,7}$")]
    pub min_version: OsVersion,
}

impl Release {
    /// The release as asked for, checked: a name, 1 to [`BUILDS_MAX`] builds, each
    /// model in one build only, http(s) URLs, SHA-256 digests, sizes, and a
    /// `min_version` older than the version.
    pub fn validate(mut self) -> Result<Release, RolloutError> {
        self.name = bounded_text("name", &self.name)?;
        if self.builds.is_empty() || self.builds.len() > BUILDS_MAX {
            return Err(invalid(format!(
                "a release has 1 to {BUILDS_MAX} builds; this one has {}",
                self.builds.len()
            )));
        }
        if self.min_version >= self.version {
            return Err(invalid(format!(
                "min_version {} must be older than the version {}",
                self.min_version, self.version
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for build in &mut self.builds {
            build.base = bounded_text("base", &build.base)?;
            if build.models.is_empty() {
                return Err(invalid("every build names at least one model"));
            }
            if let Some(twice) = build.models.iter().find(|m| !seen.insert((*m).clone())) {
                return Err(invalid(format!("model {twice} has more than one build")));
            }
            let url_ok = (build.url.starts_with("https://") || build.url.starts_with("http://"))
                && build.url.len() <= 2000
                && !build
                    .url
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control());
            if !url_ok {
                return Err(invalid(format!(
                    "url {:?} is not an http(s) URL of at most 2000 characters",
                    build.url.chars().take(80).collect::<String>()
                )));
            }
            let sha_ok =
                build.sha256.len() == 64 && build.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !sha_ok {
                return Err(invalid("sha256 must be 64 hex digits"));
            }
            build.sha256.make_ascii_lowercase();
            if build.size == 0 || build.size > BUILD_SIZE_MAX {
                return Err(invalid(format!("size must be 1 to {BUILD_SIZE_MAX} bytes")));
            }
        }
        Ok(self)
    }

    /// The build for `model`, if the release has one.
    pub fn build_for(&self, model: &ProductId) -> Option<&Build> {
        self.builds.iter().find(|b| b.models.contains(model))
    }

    /// The build a device of `model` running `current` may install: it has a build,
    /// and `min_version <= current < version`.
    pub fn offers(&self, model: &ProductId, current: &OsVersion) -> Option<&Build> {
        let fits = *current >= self.min_version && *current < self.version;
        self.build_for(model).filter(|_| fits)
    }
}

/// One wave: the share of devices it reaches (cumulative) and how long it soaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    /// 1 to 100: devices whose bucket is below `percent × 100`.
    pub percent: u8,
    /// Hours the wave runs before an automatic rollout may move on.
    #[serde(default)]
    pub min_hours: u32,
}

/// Who moves a rollout to its next wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Advance {
    /// The rollout moves on by itself after each soak, while failures stay under
    /// the threshold.
    Auto,
    /// An operator moves it on.
    Manual,
}

/// A rollout's terms (`POST /v1/os/rollouts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutTerms {
    #[schema(example = "miui-9-in")]
    pub id: RolloutId,
    #[schema(example = "miui-9")]
    pub release: ReleaseId,
    #[schema(example = json!(["IN"]))]
    pub markets: Vec<MarketCode>,
    pub starts_at: DateTime<Utc>,
    #[schema(min_items = 1, max_items = 20)]
    pub waves: Vec<Wave>,
    /// Halt when `failed / (installed + failed)` exceeds this (0 to 1).
    #[schema(example = 0.05)]
    pub error_threshold: f64,
    /// Devices that must have reported (installed or failed) before a halt.
    #[schema(example = 50)]
    pub min_reports: u32,
    pub advance: Advance,
}

impl RolloutTerms {
    /// The terms as asked for, checked: markets, 1 to [`WAVES_MAX`] waves whose
    /// percentages grow to exactly 100, a threshold between 0 and 1, `min_reports` ≥ 1.
    pub fn validate(mut self) -> Result<RolloutTerms, RolloutError> {
        self.markets.sort();
        self.markets.dedup();
        if self.markets.is_empty() || self.markets.len() > MARKETS_MAX {
            return Err(invalid(format!(
                "a rollout covers 1 to {MARKETS_MAX} markets"
            )));
        }
        if self.waves.is_empty() || self.waves.len() > WAVES_MAX {
            return Err(invalid(format!("a rollout has 1 to {WAVES_MAX} waves")));
        }
        let mut previous = 0;
        for wave in &self.waves {
            if wave.percent <= previous || wave.percent > 100 {
                return Err(invalid(
                    "wave percentages must grow, each from 1 to 100 (each wave contains the earlier ones)",
                ));
            }
            if wave.min_hours > SOAK_HOURS_MAX {
                return Err(invalid(format!("min_hours is at most {SOAK_HOURS_MAX}")));
            }
            previous = wave.percent;
        }
        if previous != 100 {
            return Err(invalid("the last wave must reach 100 percent"));
        }
        if !(0.0..=1.0).contains(&self.error_threshold) {
            return Err(invalid(
                "error_threshold is a share from 0 to 1, such as 0.05",
            ));
        }
        if self.min_reports == 0 {
            return Err(invalid("min_reports must be at least 1"));
        }
        Ok(self)
    }

    /// The wave a bucket belongs to: the first whose percentage covers it.
    pub fn wave_of(&self, bucket: u16) -> usize {
        self.waves
            .iter()
            .position(|w| bucket < u16::from(w.percent) * 100)
            .unwrap_or(self.waves.len() - 1)
    }

    /// Whether this rollout and `other` could offer builds to the same device: a
    /// market in common and a model with a build in both releases.
    pub fn overlaps(
        &self,
        release: &Release,
        other: &RolloutTerms,
        other_release: &Release,
    ) -> bool {
        self.markets.iter().any(|m| other.markets.contains(m))
            && release
                .builds
                .iter()
                .flat_map(|b| &b.models)
                .any(|m| other_release.build_for(m).is_some())
    }
}

/// Where a rollout stands, besides its wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStatus {
    Running,
    Paused,
    Halted,
}

/// What a device reported about its update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Told which build to install (at check-in).
    Offered,
    Downloading,
    Installed,
    Failed,
}

impl DeviceStatus {
    const ALL: [DeviceStatus; 4] = [
        DeviceStatus::Offered,
        DeviceStatus::Downloading,
        DeviceStatus::Installed,
        DeviceStatus::Failed,
    ];
    fn index(self) -> usize {
        self as usize
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Offered => "offered",
            DeviceStatus::Downloading => "downloading",
            DeviceStatus::Installed => "installed",
            DeviceStatus::Failed => "failed",
        }
    }
}

/// Everything that changes a rollout, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RolloutEvent {
    /// A device in a reached wave checked in and was offered the build.
    Offered {
        serial: Serial,
        wave: u8,
        at_ms: i64,
    },
    /// A device reported progress.
    Reported {
        serial: Serial,
        status: DeviceStatus,
        at_ms: i64,
    },
    /// The rollout moved to wave `wave` (0-based).
    Advanced {
        wave: u8,
        automatic: bool,
        at_ms: i64,
    },
    Paused {
        at_ms: i64,
    },
    Resumed {
        at_ms: i64,
    },
    Halted {
        reason: String,
        automatic: bool,
        at_ms: i64,
    },
}

/// A device's place in a rollout: its wave and where its update stands. Two bytes.
#[derive(Debug, Clone, Copy)]
struct Progress {
    wave: u8,
    status: DeviceStatus,
}

/// A rollout's state, built only by applying events.
#[derive(Debug, Clone)]
pub struct RolloutBook {
    terms: RolloutTerms,
    status: RolloutStatus,
    wave: usize,
    wave_since: DateTime<Utc>,
    halt_reason: Option<String>,
    devices: FxHashMap<u64, Progress>,
    /// Per wave, devices by their current status.
    tally: Vec<[u64; 4]>,
}

/// Per wave, cumulative (each wave's figures include the earlier waves').
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WaveView {
    pub percent: u8,
    pub min_hours: u32,
    pub offered: u64,
    pub downloading: u64,
    pub installed: u64,
    pub failed: u64,
}

impl RolloutBook {
    pub fn new(terms: RolloutTerms) -> Self {
        let waves = terms.waves.len();
        RolloutBook {
            wave_since: terms.starts_at,
            terms,
            status: RolloutStatus::Running,
            wave: 0,
            halt_reason: None,
            devices: FxHashMap::default(),
            tally: vec![[0; 4]; waves],
        }
    }

    pub fn terms(&self) -> &RolloutTerms {
        &self.terms
    }
    pub fn status(&self) -> RolloutStatus {
        self.status
    }
    /// The current wave, 0-based.
    pub fn wave(&self) -> usize {
        self.wave
    }
    pub fn wave_since(&self) -> DateTime<Utc> {
        self.wave_since
    }
    pub fn halt_reason(&self) -> Option<&str> {
        self.halt_reason.as_deref()
    }
    /// Whether the last wave (100%) has been reached.
    pub fn complete(&self) -> bool {
        self.wave + 1 == self.terms.waves.len()
    }

    fn total(&self, status: DeviceStatus) -> u64 {
        self.tally.iter().map(|w| w[status.index()]).sum()
    }

    /// Devices that reported a result (installed or failed).
    pub fn reports(&self) -> u64 {
        self.total(DeviceStatus::Installed) + self.total(DeviceStatus::Failed)
    }

    /// `failed / (installed + failed)`, or `None` before any result.
    pub fn failure_rate(&self) -> Option<f64> {
        let reports = self.reports();
        (reports > 0).then(|| self.total(DeviceStatus::Failed) as f64 / reports as f64)
    }

    /// Per wave, cumulative.
    pub fn waves(&self) -> Vec<WaveView> {
        let mut running = [0u64; 4];
        self.terms
            .waves
            .iter()
            .zip(&self.tally)
            .map(|(wave, counts)| {
                for (sum, n) in running.iter_mut().zip(counts) {
                    *sum += n;
                }
                WaveView {
                    percent: wave.percent,
                    min_hours: wave.min_hours,
                    offered: running.iter().sum(),
                    downloading: running[DeviceStatus::Downloading.index()],
                    installed: running[DeviceStatus::Installed.index()],
                    failed: running[DeviceStatus::Failed.index()],
                }
            })
            .collect()
    }

    /// Devices the book tracks (each offered the build once).
    pub fn devices(&self) -> usize {
        self.devices.len()
    }

    /// A check-in: the build to offer a device of `model` in `market` running
    /// `current`, with the event to journal when it is offered for the first time.
    /// Nothing before the start, while paused or halted, outside the rollout's
    /// markets, for a model without a build, for a version outside the release's
    /// range, or for a device whose wave has not been reached.
    pub fn decide_offer<'r>(
        &self,
        release: &'r Release,
        serial: &Serial,
        model: &ProductId,
        market: &MarketCode,
        current: &OsVersion,
        now: DateTime<Utc>,
    ) -> Option<(&'r Build, Option<RolloutEvent>)> {
        if now < self.terms.starts_at
            || self.status != RolloutStatus::Running
            || !self.terms.markets.contains(market)
        {
            return None;
        }
        let build = release.offers(model, current)?;
        if self.devices.contains_key(&device_key(serial)) {
            return Some((build, None));
        }
        let wave = self.terms.wave_of(bucket(&self.terms.id, serial));
        if wave > self.wave {
            return None;
        }
        let event = RolloutEvent::Offered {
            serial: serial.clone(),
            wave: wave as u8,
            at_ms: now.timestamp_millis(),
        };
        Some((build, Some(event)))
    }

    /// Where a device's update stands, if the build was offered to it.
    pub fn progress_of(&self, serial: &Serial) -> Option<DeviceStatus> {
        self.devices.get(&device_key(serial)).map(|p| p.status)
    }

    /// The offer a device must have had when it reports on a build the book does not
    /// know it was offered (the offer was decided but not yet durable when the server
    /// stopped): its market, model and wave must fit, whatever the state now.
    pub fn decide_missed_offer(
        &self,
        release: &Release,
        serial: &Serial,
        model: &ProductId,
        market: &MarketCode,
        now: DateTime<Utc>,
    ) -> Option<RolloutEvent> {
        let fits = now >= self.terms.starts_at
            && self.terms.markets.contains(market)
            && release.build_for(model).is_some()
            && !self.devices.contains_key(&device_key(serial));
        let wave = self.terms.wave_of(bucket(&self.terms.id, serial));
        (fits && wave <= self.wave).then(|| RolloutEvent::Offered {
            serial: serial.clone(),
            wave: wave as u8,
            at_ms: now.timestamp_millis(),
        })
    }

    /// A device's progress report: the events it makes (none when it says nothing
    /// new: reports are idempotent), and the automatic halt when this report takes the
    /// failure rate over the threshold with at least `min_reports` results.
    pub fn decide_report(
        &self,
        serial: &Serial,
        status: DeviceStatus,
        now: DateTime<Utc>,
    ) -> Result<Vec<RolloutEvent>, RolloutError> {
        if status == DeviceStatus::Offered {
            return Err(invalid(
                "report downloading, installed or failed; a device is offered a build at check-in",
            ));
        }
        let progress =
            self.devices
                .get(&device_key(serial))
                .ok_or_else(|| RolloutError::NotOffered {
                    rollout: self.terms.id.clone(),
                })?;
        // Installed is final; the same status again changes nothing; a failed device
        // stays counted as failed until it reports installed (a retry's `downloading`
        // does not hide the failure from the threshold).
        if progress.status == status
            || progress.status == DeviceStatus::Installed
            || (progress.status == DeviceStatus::Failed && status == DeviceStatus::Downloading)
        {
            return Ok(Vec::new());
        }
        let at_ms = now.timestamp_millis();
        let report = RolloutEvent::Reported {
            serial: serial.clone(),
            status,
            at_ms,
        };
        let mut after = self.clone_counts();
        after[progress.status.index()] -= 1;
        after[status.index()] += 1;
        let mut events = vec![report];
        // A running or paused rollout halts as soon as a report takes the rate over the
        // threshold with at least `min_reports` results: a failure, or the result (an
        // install too) that brings the count to `min_reports` while the failures are
        // already over. After an operator resumes it, the next failure halts it again
        // while the rate stays over; an install does not.
        let installed = after[DeviceStatus::Installed.index()];
        let failed = after[DeviceStatus::Failed.index()];
        let reports = installed + failed;
        let min_reports = u64::from(self.terms.min_reports);
        let reaches_min_reports = self.reports() < min_reports && reports >= min_reports;
        let over =
            reports >= min_reports && failed as f64 > self.terms.error_threshold * reports as f64;
        if (status == DeviceStatus::Failed || reaches_min_reports)
            && self.status != RolloutStatus::Halted
            && over
        {
            events.push(RolloutEvent::Halted {
                reason: format!(
                    "failure rate {:.1}% ({failed} of {reports} devices) exceeded the threshold of {:.1}%",
                    100.0 * failed as f64 / reports as f64,
                    100.0 * self.terms.error_threshold
                ),
                automatic: true,
                at_ms,
            });
        }
        Ok(events)
    }

    fn clone_counts(&self) -> [u64; 4] {
        DeviceStatus::ALL.map(|s| self.total(s))
    }

    /// What the clock alone decides: an automatic rollout moves to its next wave once
    /// the current one has soaked `min_hours` with its failure rate under the
    /// threshold (or no result yet).
    pub fn decide_tick(&self, now: DateTime<Utc>) -> Option<RolloutEvent> {
        if self.terms.advance != Advance::Auto
            || self.status != RolloutStatus::Running
            || self.complete()
            || now < self.terms.starts_at
        {
            return None;
        }
        let soak = Duration::hours(i64::from(self.terms.waves[self.wave].min_hours));
        // Not over the threshold (the halt's own test), or no result yet.
        let (failed, reports) = (self.total(DeviceStatus::Failed), self.reports());
        let healthy = failed as f64 <= self.terms.error_threshold * reports as f64;
        (now >= self.wave_since + soak && healthy).then(|| RolloutEvent::Advanced {
            wave: (self.wave + 1) as u8,
            automatic: true,
            at_ms: now.timestamp_millis(),
        })
    }

    /// When [`RolloutBook::decide_tick`] may next have something to do.
    pub fn next_tick(&self) -> Option<DateTime<Utc>> {
        if self.terms.advance != Advance::Auto
            || self.status != RolloutStatus::Running
            || self.complete()
        {
            return None;
        }
        let soak = Duration::hours(i64::from(self.terms.waves[self.wave].min_hours));
        Some((self.wave_since + soak).max(self.terms.starts_at))
    }

    /// An operator moves the rollout to its next wave.
    pub fn decide_advance(&self, now: DateTime<Utc>) -> Result<RolloutEvent, RolloutError> {
        if self.status != RolloutStatus::Running {
            return Err(RolloutError::Conflict(format!(
                "the rollout is {}; resume it first",
                status_word(self.status)
            )));
        }
        if self.complete() {
            return Err(RolloutError::Conflict(
                "the rollout already reaches 100% of its devices".into(),
            ));
        }
        Ok(RolloutEvent::Advanced {
            wave: (self.wave + 1) as u8,
            automatic: false,
            at_ms: now.timestamp_millis(),
        })
    }

    pub fn decide_pause(&self, now: DateTime<Utc>) -> Result<RolloutEvent, RolloutError> {
        match self.status {
            RolloutStatus::Running => Ok(RolloutEvent::Paused {
                at_ms: now.timestamp_millis(),
            }),
            other => Err(RolloutError::Conflict(format!(
                "the rollout is {}; only a running rollout pauses",
                status_word(other)
            ))),
        }
    }

    /// Resumes a paused or halted rollout: the operator has looked at the failures.
    pub fn decide_resume(&self, now: DateTime<Utc>) -> Result<RolloutEvent, RolloutError> {
        match self.status {
            RolloutStatus::Paused | RolloutStatus::Halted => Ok(RolloutEvent::Resumed {
                at_ms: now.timestamp_millis(),
            }),
            RolloutStatus::Running => Err(RolloutError::Conflict(
                "the rollout is already running".into(),
            )),
        }
    }

    pub fn decide_halt(&self, now: DateTime<Utc>) -> Result<RolloutEvent, RolloutError> {
        match self.status {
            RolloutStatus::Halted => Err(RolloutError::Conflict(
                "the rollout is already halted".into(),
            )),
            _ => Ok(RolloutEvent::Halted {
                reason: "halted by an operator".into(),
                automatic: false,
                at_ms: now.timestamp_millis(),
            }),
        }
    }

    /// Applies an event from this book's decisions or its journal.
    pub fn apply(&mut self, event: &RolloutEvent) {
        match event {
            RolloutEvent::Offered { serial, wave, .. } => {
                let wave = usize::from(*wave).min(self.tally.len() - 1);
                let new = Progress {
                    wave: wave as u8,
                    status: DeviceStatus::Offered,
                };
                if let std::collections::hash_map::Entry::Vacant(entry) =
                    self.devices.entry(device_key(serial))
                {
                    entry.insert(new);
                    self.tally[wave][DeviceStatus::Offered.index()] += 1;
                }
            }
            RolloutEvent::Reported { serial, status, .. } => {
                if let Some(progress) = self.devices.get_mut(&device_key(serial)) {
                    let counts = &mut self.tally[usize::from(progress.wave)];
                    counts[progress.status.index()] -= 1;
                    counts[status.index()] += 1;
                    progress.status = *status;
                }
            }
            RolloutEvent::Advanced { wave, at_ms, .. } => {
                self.wave = usize::from(*wave).min(self.terms.waves.len() - 1);
                self.wave_since = crate::sale::from_ms(*at_ms);
            }
            RolloutEvent::Paused { .. } => self.status = RolloutStatus::Paused,
            RolloutEvent::Resumed { at_ms } => {
                // The soak starts again: time spent paused or halted is no soak.
                self.status = RolloutStatus::Running;
                self.halt_reason = None;
                self.wave_since = crate::sale::from_ms(*at_ms);
            }
            RolloutEvent::Halted { reason, .. } => {
                self.status = RolloutStatus::Halted;
                self.halt_reason = Some(reason.clone());
            }
        }
    }
}

fn status_word(status: RolloutStatus) -> &'static str {
    match status {
        RolloutStatus::Running => "running",
        RolloutStatus::Paused => "paused",
        RolloutStatus::Halted => "halted",
    }
}

/// What a rehearsal saw of one wave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RehearsedWave {
    pub wave: usize,
    pub percent: u8,
    /// Hours after the start when the wave began.
    pub began_after_hours: i64,
    /// Devices offered the build by the time the wave ended (cumulative).
    pub offered: u64,
    pub installed: u64,
    pub failed: u64,
}

/// How a rehearsal ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rehearsal {
    pub waves: Vec<RehearsedWave>,
    /// `None` when every device was reached; else why it stopped.
    pub halted: Option<String>,
    /// Hours from the start to the end of the rehearsal.
    pub hours: i64,
    pub devices: u64,
}

/// Longest a rehearsal runs on its simulated clock: two years.
pub const REHEARSAL_HOURS_MAX: i64 = 2 * 366 * 24;

/// Replays `terms` on a simulated clock with `devices` eligible devices, each of which
/// checks in once an hour, and whose install fails with probability `failure_rate`
/// (drawn from `seed`, so a rehearsal repeats exactly). Manual rollouts are advanced
/// as soon as each wave has soaked, as a diligent operator would. `progress` is called
/// with the simulated hour after each one.
pub fn simulate(
    terms: &RolloutTerms,
    devices: u64,
    failure_rate: f64,
    seed: u64,
    mut progress: impl FnMut(i64),
) -> Rehearsal {
    let release_model = ProductId::parse("simulated-phone").expect("a valid slug");
    let market = terms.markets[0].clone();
    let release = Release {
        id: terms.release.clone(),
        name: "rehearsal".into(),
        version: OsVersion::parse("2").expect("a version"),
        builds: vec![Build {
            models: vec![release_model.clone()],
            base: "rehearsal".into(),
            url: "https://rehearsal.invalid/".into(),
            sha256: "0".repeat(64),
            size: 1,
        }],
        min_version: OsVersion::parse("1").expect("a version"),
    };
    let current = OsVersion::parse("1").expect("a version");
    let serials: Vec<Serial> = (0..devices)
        .map(|i| Serial::parse(&format!("SIM{i:09}")).expect("a valid serial"))
        .collect();
    let fails = |serial: &Serial| {
        let draw = xxhash_rust::xxh3::xxh3_64_with_seed(serial.as_str().as_bytes(), seed);
        (draw as f64 / u64::MAX as f64) < failure_rate
    };
    let mut book = RolloutBook::new(terms.clone());
    let mut waves = vec![RehearsedWave {
        wave: 0,
        percent: terms.waves[0].percent,
        began_after_hours: 0,
        offered: 0,
        installed: 0,
        failed: 0,
    }];
    let mut hour = 0;
    while hour <= REHEARSAL_HOURS_MAX {
        let now = terms.starts_at + Duration::hours(hour);
        for serial in &serials {
            let Some((_, offer)) =
                book.decide_offer(&release, serial, &release_model, &market, &current, now)
            else {
                continue;
            };
            let Some(offer) = offer else { continue };
            book.apply(&offer);
            let result = if fails(serial) {
                DeviceStatus::Failed
            } else {
                DeviceStatus::Installed
            };
            for status in [DeviceStatus::Downloading, result] {
                if let Ok(events) = book.decide_report(serial, status, now) {
                    events.iter().for_each(|e| book.apply(e));
                }
            }
        }
        let last = book.waves()[book.wave()].clone();
        let current_wave = waves.last_mut().expect("a wave");
        (
            current_wave.offered,
            current_wave.installed,
            current_wave.failed,
        ) = (last.offered, last.installed, last.failed);
        progress(hour);
        if book.status() == RolloutStatus::Halted
            || (book.complete() && book.devices() as u64 == devices)
        {
            break;
        }
        let step = match terms.advance {
            Advance::Auto => book.decide_tick(now),
            Advance::Manual => {
                let soaked = now
                    >= book.wave_since()
                        + Duration::hours(i64::from(terms.waves[book.wave()].min_hours));
                soaked.then(|| book.decide_advance(now).ok()).flatten()
            }
        };
        if let Some(advance) = step {
            book.apply(&advance);
            waves.push(RehearsedWave {
                wave: book.wave(),
                percent: terms.waves[book.wave()].percent,
                began_after_hours: hour,
                offered: last.offered,
                installed: last.installed,
                failed: last.failed,
            });
            continue; // the new wave's devices check in within the same hour
        }
        hour += 1;
    }
    Rehearsal {
        waves,
        halted: book.halt_reason().map(str::to_owned),
        hours: hour.min(REHEARSAL_HOURS_MAX),
        devices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(hours: i64) -> DateTime<Utc> {
        "2017-08-16T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(hours)
    }
    fn v(text: &str) -> OsVersion {
        OsVersion::parse(text).unwrap()
    }
    fn p(text: &str) -> ProductId {
        ProductId::parse(text).unwrap()
    }
    fn serial(i: u64) -> Serial {
        Serial::parse(&format!("865321{i:09}")).unwrap()
    }
    fn india() -> MarketCode {
        MarketCode::parse("IN").unwrap()
    }

    fn miui_9() -> Release {
        let build = |models: &[&str], base: &str| Build {
            models: models.iter().map(|m| p(m)).collect(),
            base: base.into(),
            url: format!("https://updates.example.com/miui-9/{}.zip", models[0]),
            sha256: "ab".repeat(32),
            size: 1_500_000_000,
        };
        Release {
            id: ReleaseId::parse("miui-9").unwrap(),
            name: "MIUI 9".into(),
            version: v("9.0"),
            builds: vec![
                build(&["mi-6", "mi-max-2"], "Android 7.1"),
                build(&["redmi-note-4", "redmi-4x"], "Android 7.0"),
            ],
            min_version: v("8.0"),
        }
        .validate()
        .unwrap()
    }

    fn terms(waves: &[(u8, u32)], advance: Advance) -> RolloutTerms {
        RolloutTerms {
            id: RolloutId::parse("miui-9-in").unwrap(),
            release: ReleaseId::parse("miui-9").unwrap(),
            markets: vec![india()],
            starts_at: t(0),
            waves: waves
                .iter()
                .map(|&(percent, min_hours)| Wave { percent, min_hours })
                .collect(),
            error_threshold: 0.05,
            min_reports: 50,
            advance,
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn versions_compare_numerically_at_the_edges() {
        assert!(v("9.0.10") > v("9.0.9"));
        assert_eq!(v("9.0"), v("9.0.0"));
        assert!(v("8.5.1") < v("9"));
        let release = miui_9();
        let mi6 = p("mi-6");
        assert!(
            release.offers(&mi6, &v("8.0.0")).is_some(),
            "min_version itself"
        );
        assert!(
            release.offers(&mi6, &v("7.9.99")).is_none(),
            "older than min_version"
        );
        assert!(release.offers(&mi6, &v("8.99.99")).is_some());
        assert!(
            release.offers(&mi6, &v("9.0.0")).is_none(),
            "already on the release"
        );
        assert!(release.offers(&mi6, &v("9.0.1")).is_none(), "newer");
    }

    #[test]
    fn a_release_is_checked() {
        let mut twice = miui_9();
        twice.builds[1].models.push(p("mi-6"));
        assert!(twice.validate().is_err(), "a model in two builds");
        let mut backwards = miui_9();
        backwards.min_version = v("9.0");
        assert!(backwards.validate().is_err());
        let mut bad_sha = miui_9();
        bad_sha.builds[0].sha256 = "xyz".into();
        assert!(bad_sha.validate().is_err());
        let mut bad_url = miui_9();
        bad_url.builds[0].url = "ftp://x".into();
        assert!(bad_url.validate().is_err());
        let mut empty = miui_9();
        empty.builds.clear();
        assert!(empty.validate().is_err());
    }

    #[test]
    fn waves_must_grow_to_one_hundred() {
        let base = terms(&[(1, 24), (100, 0)], Advance::Auto);
        for waves in [
            vec![],
            vec![(10, 0), (5, 0), (100, 0)],
            vec![(10, 0), (50, 0)],
            vec![(0, 0), (100, 0)],
        ] {
            let mut bad = base.clone();
            bad.waves = waves
                .iter()
                .map(|&(percent, min_hours)| Wave { percent, min_hours })
                .collect();
            assert!(bad.validate().is_err(), "{waves:?}");
        }
        let mut threshold = base.clone();
        threshold.error_threshold = 1.5;
        assert!(threshold.validate().is_err());
        let mut nan = base;
        nan.error_threshold = f64::NAN;
        assert!(nan.validate().is_err());
    }

    #[test]
    fn a_bucket_is_the_hash_of_rollout_and_serial_joined_by_a_zero_byte() {
        // Pinned: changing the hash would move devices between waves of live rollouts.
        let rollout = RolloutId::parse("miui-9-in").unwrap();
        let joined = xxhash_rust::xxh3::xxh3_64(b"miui-9-in\0865321000000001");
        assert_eq!(u64::from(bucket(&rollout, &serial(1))), joined % 10_000);
    }

    #[test]
    fn bucketing_is_stable_and_waves_are_the_size_they_say() {
        let terms = terms(&[(1, 24), (10, 24), (50, 24), (100, 0)], Advance::Auto);
        let n = 100_000;
        let mut per_wave = [0u64; 4];
        for i in 0..n {
            let b = bucket(&terms.id, &serial(i));
            assert_eq!(
                b,
                bucket(&terms.id, &serial(i)),
                "the same bucket every time"
            );
            assert!(b < BUCKETS);
            per_wave[terms.wave_of(b)] += 1;
        }
        let mut cumulative = 0;
        for (wave, count) in terms.waves.iter().zip(per_wave) {
            cumulative += count;
            let share = 100.0 * cumulative as f64 / n as f64;
            assert!(
                (share - f64::from(wave.percent)).abs() <= 1.0,
                "wave {}%: {share:.2}% of devices",
                wave.percent
            );
        }
        // Another rollout spreads the same devices differently.
        let other = RolloutId::parse("miui-9-cn").unwrap();
        let moved = (0..1000)
            .filter(|&i| bucket(&other, &serial(i)) != bucket(&terms.id, &serial(i)))
            .count();
        assert!(moved > 900, "{moved}");
    }

    #[test]
    fn eligibility_follows_model_market_version_and_start() {
        let release = miui_9();
        let book = RolloutBook::new(terms(&[(100, 0)], Advance::Manual));
        let s = serial(1);
        let offer = |model: &str, market: &MarketCode, version: &str, at: DateTime<Utc>| {
            book.decide_offer(&release, &s, &p(model), market, &v(version), at)
                .map(|(build, _)| build.base.clone())
        };
        assert_eq!(
            offer("mi-6", &india(), "8.5.1", t(1)).as_deref(),
            Some("Android 7.1")
        );
        assert_eq!(
            offer("redmi-4x", &india(), "8.5.1", t(1)).as_deref(),
            Some("Android 7.0")
        );
        assert_eq!(
            offer("mi-mix", &india(), "8.5.1", t(1)),
            None,
            "no build for the model"
        );
        let china = MarketCode::parse("CN").unwrap();
        assert_eq!(offer("mi-6", &china, "8.5.1", t(1)), None, "another market");
        assert_eq!(
            offer("mi-6", &india(), "7.5", t(1)),
            None,
            "below min_version"
        );
        assert_eq!(offer("mi-6", &india(), "9.0", t(1)), None, "up to date");
        assert_eq!(
            offer("mi-6", &india(), "8.5.1", t(-1)),
            None,
            "before starts_at"
        );
    }

    /// Offers the build to every device of `serials` whose wave is reached.
    fn check_in(book: &mut RolloutBook, serials: std::ops::Range<u64>, at: DateTime<Utc>) -> u64 {
        let release = miui_9();
        let mut offered = 0;
        for i in serials {
            if let Some((_, event)) =
                book.decide_offer(&release, &serial(i), &p("mi-6"), &india(), &v("8.5"), at)
            {
                offered += 1;
                if let Some(event) = event {
                    book.apply(&event);
                }
            }
        }
        offered
    }

    fn report(book: &mut RolloutBook, i: u64, status: DeviceStatus, at: DateTime<Utc>) -> usize {
        let events = book.decide_report(&serial(i), status, at).unwrap();
        events.iter().for_each(|e| book.apply(e));
        events.len()
    }

    #[test]
    fn an_automatic_rollout_moves_on_after_its_soak() {
        let mut book = RolloutBook::new(terms(&[(10, 24), (50, 12), (100, 0)], Advance::Auto));
        let offered = check_in(&mut book, 0..1000, t(0));
        assert!((70..=130).contains(&offered), "about a tenth: {offered}");
        assert_eq!(book.decide_tick(t(23)), None, "still soaking");
        let advance = book.decide_tick(t(24)).expect("soaked");
        book.apply(&advance);
        assert_eq!(book.wave(), 1);
        assert_eq!(book.next_tick(), Some(t(36)));
        assert_eq!(book.decide_tick(t(35)), None);
        // The first wave's devices are still the first wave's; more join.
        let more = check_in(&mut book, 0..1000, t(25));
        assert!((400..=600).contains(&more), "about half: {more}");
        let waves = book.waves();
        assert_eq!(
            waves[0].offered, offered,
            "nobody moved into the first wave"
        );
        assert_eq!(waves[1].offered, more);
        book.apply(&book.decide_tick(t(36)).unwrap());
        assert!(book.complete());
        assert_eq!(book.decide_tick(t(1000)), None, "nothing after 100%");

        let manual = RolloutBook::new(terms(&[(10, 0), (100, 0)], Advance::Manual));
        assert_eq!(
            manual.decide_tick(t(1000)),
            None,
            "a manual rollout waits for its operator"
        );
    }

    #[test]
    fn the_install_that_reaches_min_reports_halts_a_build_already_failing() {
        // min_reports 20: ten failures, then ten installs. The tenth install brings
        // the count to 20 at a 50% failure rate: that report halts it.
        let mut settings = terms(&[(100, 0)], Advance::Auto);
        settings.min_reports = 20;
        let mut book = RolloutBook::new(settings.clone());
        check_in(&mut book, 0..40, t(1));
        for i in 0..10 {
            report(&mut book, i, DeviceStatus::Failed, t(1));
        }
        for i in 10..19 {
            report(&mut book, i, DeviceStatus::Installed, t(1));
        }
        assert_eq!(
            book.status(),
            RolloutStatus::Running,
            "19 results: below 20"
        );
        assert_eq!(report(&mut book, 19, DeviceStatus::Installed, t(2)), 2);
        assert_eq!(book.status(), RolloutStatus::Halted);
        assert!(
            book.halt_reason().unwrap().contains("10 of 20"),
            "{:?}",
            book.halt_reason()
        );
        let release = miui_9();
        assert!(
            book.decide_offer(&release, &serial(30), &p("mi-6"), &india(), &v("8.5"), t(3))
                .is_none(),
            "no build while halted"
        );

        // The same count reached with the failures under the threshold does not.
        let mut book = RolloutBook::new(settings);
        check_in(&mut book, 0..40, t(1));
        report(&mut book, 0, DeviceStatus::Failed, t(1));
        for i in 1..20 {
            report(&mut book, i, DeviceStatus::Installed, t(1));
        }
        assert_eq!(
            book.status(),
            RolloutStatus::Running,
            "1 of 20 is 5%, not over"
        );
    }

    #[test]
    fn a_failing_build_halts_at_the_threshold_and_not_before_min_reports() {
        let mut book = RolloutBook::new(terms(&[(100, 0)], Advance::Auto));
        check_in(&mut book, 0..200, t(1));
        // 49 results, all failed: below min_reports, so it runs on.
        for i in 0..49 {
            report(&mut book, i, DeviceStatus::Downloading, t(1));
            report(&mut book, i, DeviceStatus::Failed, t(1));
        }
        assert_eq!(book.status(), RolloutStatus::Running);
        assert_eq!(book.failure_rate(), Some(1.0));
        // The 50th result halts it, in the same decision.
        assert_eq!(report(&mut book, 49, DeviceStatus::Failed, t(2)), 2);
        assert_eq!(book.status(), RolloutStatus::Halted);
        assert!(
            book.halt_reason().unwrap().contains("50 of 50"),
            "{:?}",
            book.halt_reason()
        );
        let release = miui_9();
        assert!(
            book.decide_offer(&release, &serial(0), &p("mi-6"), &india(), &v("8.5"), t(3))
                .is_none(),
            "no build while halted"
        );

        // At the threshold exactly it runs on; just over it, it halts.
        let mut book = RolloutBook::new(terms(&[(100, 0)], Advance::Auto));
        check_in(&mut book, 0..200, t(1));
        for i in 0..95 {
            report(&mut book, i, DeviceStatus::Installed, t(1));
        }
        for i in 95..100 {
            report(&mut book, i, DeviceStatus::Failed, t(1));
        }
        assert_eq!(book.failure_rate(), Some(0.05));
        assert_eq!(book.status(), RolloutStatus::Running, "5% is not over 5%");
        report(&mut book, 100, DeviceStatus::Failed, t(1));
        assert_eq!(book.status(), RolloutStatus::Halted, "6 of 101 is");
    }

    #[test]
    fn reports_are_idempotent_and_only_from_offered_devices() {
        let mut book = RolloutBook::new(terms(&[(100, 0)], Advance::Auto));
        assert_eq!(
            book.decide_report(&serial(1), DeviceStatus::Installed, t(1)),
            Err(RolloutError::NotOffered {
                rollout: book.terms().id.clone()
            })
        );
        check_in(&mut book, 0..10, t(1));
        assert_eq!(report(&mut book, 1, DeviceStatus::Downloading, t(1)), 1);
        assert_eq!(
            report(&mut book, 1, DeviceStatus::Downloading, t(1)),
            0,
            "again"
        );
        assert_eq!(report(&mut book, 1, DeviceStatus::Failed, t(1)), 1);
        assert_eq!(
            report(&mut book, 1, DeviceStatus::Downloading, t(1)),
            0,
            "a retry keeps the failure counted"
        );
        assert_eq!(book.waves()[0].failed, 1);
        assert_eq!(
            report(&mut book, 1, DeviceStatus::Installed, t(2)),
            1,
            "a retry that worked"
        );
        assert_eq!(
            report(&mut book, 1, DeviceStatus::Failed, t(3)),
            0,
            "installed is final"
        );
        assert_eq!(
            check_in(&mut book, 0..10, t(4)),
            10,
            "offered again, counted once"
        );
        let w = &book.waves()[0];
        assert_eq!(
            (w.offered, w.downloading, w.installed, w.failed),
            (10, 0, 1, 0)
        );
        assert!(book
            .decide_report(&serial(2), DeviceStatus::Offered, t(1))
            .is_err());
    }

    #[test]
    fn pause_resume_halt_and_advance_by_hand() {
        let mut book = RolloutBook::new(terms(&[(10, 0), (100, 0)], Advance::Auto));
        let release = miui_9();
        book.apply(&book.decide_pause(t(1)).unwrap());
        assert_eq!(book.status(), RolloutStatus::Paused);
        assert!(book.decide_pause(t(1)).is_err());
        assert!(book.decide_advance(t(1)).is_err(), "resume first");
        assert_eq!(
            book.decide_tick(t(100)),
            None,
            "a paused rollout does not move"
        );
        assert!(book
            .decide_offer(&release, &serial(1), &p("mi-6"), &india(), &v("8.5"), t(1))
            .is_none());
        book.apply(&book.decide_resume(t(2)).unwrap());
        assert_eq!(book.status(), RolloutStatus::Running);
        assert!(book.decide_resume(t(2)).is_err());
        book.apply(&book.decide_advance(t(3)).unwrap());
        assert!(book.complete());
        assert!(book.decide_advance(t(3)).is_err(), "already at 100%");
        book.apply(&book.decide_halt(t(4)).unwrap());
        assert_eq!(book.halt_reason(), Some("halted by an operator"));
        assert!(book.decide_halt(t(4)).is_err());
        book.apply(&book.decide_resume(t(5)).unwrap());
        assert_eq!(book.halt_reason(), None);

        // Time paused is no soak: the wave soaks again from the resume.
        let mut book = RolloutBook::new(terms(&[(10, 24), (100, 0)], Advance::Auto));
        book.apply(&book.decide_pause(t(1)).unwrap());
        book.apply(&book.decide_resume(t(48)).unwrap());
        assert_eq!(book.decide_tick(t(49)), None, "not soaked since the resume");
        assert!(book.decide_tick(t(72)).is_some());
    }

    #[test]
    fn after_a_resume_the_next_failure_halts_again_and_an_install_does_not() {
        let mut book = RolloutBook::new(terms(&[(100, 0)], Advance::Auto));
        check_in(&mut book, 0..100, t(1));
        for i in 0..50 {
            report(&mut book, i, DeviceStatus::Failed, t(1));
        }
        assert_eq!(book.status(), RolloutStatus::Halted);
        book.apply(&book.decide_resume(t(2)).unwrap());
        assert_eq!(report(&mut book, 60, DeviceStatus::Installed, t(2)), 1);
        assert_eq!(
            book.status(),
            RolloutStatus::Running,
            "an install does not halt it"
        );
        assert_eq!(report(&mut book, 61, DeviceStatus::Failed, t(2)), 2);
        assert_eq!(
            book.status(),
            RolloutStatus::Halted,
            "a failure does, while over"
        );
        // A paused rollout halts too when a failure takes it over.
        let mut paused = RolloutBook::new(terms(&[(100, 0)], Advance::Auto));
        check_in(&mut paused, 0..100, t(1));
        paused.apply(&paused.decide_pause(t(1)).unwrap());
        for i in 0..50 {
            report(&mut paused, i, DeviceStatus::Failed, t(1));
        }
        assert_eq!(paused.status(), RolloutStatus::Halted);
    }

    #[test]
    fn a_journal_replayed_twice_over_counts_nothing_twice() {
        let mut book = RolloutBook::new(terms(&[(100, 0)], Advance::Auto));
        let offer = book
            .decide_offer(&miui_9(), &serial(1), &p("mi-6"), &india(), &v("8.5"), t(1))
            .unwrap()
            .1
            .unwrap();
        book.apply(&offer);
        report(&mut book, 1, DeviceStatus::Installed, t(1));
        book.apply(&offer); // the same group written twice
        let w = &book.waves()[0];
        assert_eq!((w.offered, w.installed), (1, 1));
        assert_eq!(book.progress_of(&serial(1)), Some(DeviceStatus::Installed));
        assert_eq!(
            book.decide_missed_offer(&miui_9(), &serial(1), &p("mi-6"), &india(), t(2)),
            None,
            "known already"
        );
        assert!(book
            .decide_missed_offer(&miui_9(), &serial(2), &p("mi-6"), &india(), t(2))
            .is_some());
        assert!(book
            .decide_missed_offer(&miui_9(), &serial(2), &p("mi-mix"), &india(), t(2))
            .is_none());
    }

    #[test]
    fn a_rehearsal_reaches_everyone_or_halts_on_a_bad_build() {
        let terms = terms(&[(1, 24), (10, 24), (50, 24), (100, 0)], Advance::Auto);
        let good = simulate(&terms, 20_000, 0.01, 7, |_| {});
        assert_eq!(good.halted, None);
        assert_eq!(good.waves.len(), 4);
        let last = good.waves.last().unwrap();
        assert_eq!(last.offered, 20_000);
        assert_eq!(last.installed + last.failed, 20_000);
        assert_eq!(good.waves[1].began_after_hours, 24);
        assert_eq!(good.waves[3].began_after_hours, 72);
        assert_eq!(
            simulate(&terms, 20_000, 0.01, 7, |_| {}),
            good,
            "the same seed, the same run"
        );

        let bad = simulate(&terms, 20_000, 0.2, 7, |_| {});
        let reason = bad.halted.expect("a 20% failure rate halts");
        assert!(reason.contains("exceeded"), "{reason}");
        assert!(bad.waves.len() <= 2, "stopped early: {:?}", bad.waves);
    }

    #[test]
    fn rollouts_overlap_when_they_share_a_market_and_a_model() {
        let release = miui_9();
        let a = terms(&[(100, 0)], Advance::Auto);
        let mut b = a.clone();
        b.id = RolloutId::parse("miui-9-in-again").unwrap();
        assert!(a.overlaps(&release, &b, &release));
        b.markets = vec![MarketCode::parse("CN").unwrap()];
        assert!(!a.overlaps(&release, &b, &release));
    }
}
