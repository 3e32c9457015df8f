//! OS rollouts in the engine. Every rollout's [`RolloutBook`] lives in memory behind
//! one short lock, so a check-in is decided with no database read; one writer task
//! group-commits what the decisions made (rollout events, devices' versions) every few
//! milliseconds. A device's progress report and an operator's action are answered only
//! once their events are durable; a check-in's offer and version are not waited for
//! (a device that checks in again is offered the same build, and sends its version
//! again). A timer moves automatic rollouts on after each soak.

use crate::{Clock, EngineError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use soldout_core::rollout::{
    bucket, DeviceStatus, Release, RolloutBook, RolloutError, RolloutEvent, RolloutStatus,
    RolloutTerms, WaveView,
};
use soldout_core::{MarketCode, OsVersion, ProductId, ReleaseId, RolloutId, Serial};
use soldout_store::{DeviceVersion, Store, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use utoipa::ToSchema;

/// How often the writer commits what check-ins decided, at most.
const FLUSH_EVERY: Duration = Duration::from_millis(5);
/// How often automatic rollouts are looked at.
const TICK_EVERY: Duration = Duration::from_secs(1);
/// Longest a report or an action waits for its commit before it is told to retry.
const DURABLE_WITHIN: Duration = Duration::from_secs(10);
/// Decisions waiting for the writer beyond which check-ins are refused (a 503): the
/// writer is stuck or far behind, and memory must not grow without bound.
const PENDING_MAX: usize = 2_000_000;

/// What a device's token says it is: checked by signature, no database read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceClaim {
    pub serial: Serial,
    pub product: ProductId,
    pub market: MarketCode,
}

/// The build a device should install, as a check-in answers it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Offer {
    #[schema(example = "miui-9-in")]
    pub rollout: RolloutId,
    #[schema(example = "miui-9")]
    pub release: ReleaseId,
    #[schema(value_type = String, example = "9.0", pattern = r"^[0-9]{1,9}(\.[0-9]{1,9}){0,7}$")]
    pub version: OsVersion,
    /// The Android base of the build.
    pub base: String,
    pub url: String,
    pub sha256: String,
    pub size: u64,
}

/// Per wave, cumulative, with the devices of the registry it covers.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WaveFigures {
    /// Registered devices this wave covers that can take (or took) the release.
    pub eligible: u64,
    #[serde(flatten)]
    pub progress: WaveView,
}

/// A rollout as `GET /v1/os/rollouts/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RolloutView {
    #[serde(flatten)]
    pub terms: RolloutTerms,
    /// `scheduled` (before `starts_at`), `running`, `paused`, `halted` or `complete`
    /// (running at its last wave).
    pub state: &'static str,
    /// Why it halted, while halted.
    pub halt_reason: Option<String>,
    /// The current wave, 1-based, and its percentage.
    pub wave: usize,
    pub percent: u8,
    pub wave_since: DateTime<Utc>,
    /// `failed / (installed + failed)`, once a device reported a result.
    pub failure_rate: Option<f64>,
    pub reports: u64,
    pub waves: Vec<WaveFigures>,
}

/// What an operator does to a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutAction {
    Advance,
    Pause,
    Resume,
    Halt,
}

impl RolloutAction {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "advance" => Some(RolloutAction::Advance),
            "pause" => Some(RolloutAction::Pause),
            "resume" => Some(RolloutAction::Resume),
            "halt" => Some(RolloutAction::Halt),
            _ => None,
        }
    }
}

/// What decisions made that is not durable yet.
#[derive(Default)]
struct Pending {
    events: Vec<(RolloutId, RolloutEvent)>,
    /// Per device, its newest version and (for an installed build) its base.
    versions: HashMap<Serial, (OsVersion, Option<String>)>,
    /// Decisions queued so far (a decision's number, to wait for its flush).
    queued: u64,
}

struct Desk {
    releases: HashMap<ReleaseId, Arc<Release>>,
    /// Each rollout's answers, one per build of its release, made once and shared.
    offers: HashMap<RolloutId, Vec<Arc<Offer>>>,
    books: BTreeMap<RolloutId, RolloutBook>,
    pending: Pending,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Clock,
    /// This node's name when several share the database ("" alone): its groups of
    /// events carry it, and it follows the others'.
    node: Arc<str>,
    desk: Mutex<Desk>,
    /// Held while a rollout is created or resumed, so two cannot both pass the
    /// overlap check.
    starting: tokio::sync::Mutex<()>,
    wake: Notify,
    /// The number of the last decision made durable.
    flushed: watch::Sender<u64>,
}

/// Every release and rollout, and the way to check in.
#[derive(Clone)]
pub struct Rollouts {
    inner: Arc<Inner>,
}

fn rollout_error(e: RolloutError) -> EngineError {
    match e {
        RolloutError::Text(e) => EngineError::Invalid(e.to_string()),
        RolloutError::Invalid(detail) => EngineError::Invalid(detail),
        RolloutError::Conflict(detail) => EngineError::Store(StoreError::Conflict {
            slug: "rollout-state",
            detail,
        }),
        e @ RolloutError::NotOffered { .. } => EngineError::Store(StoreError::Conflict {
            slug: "not-offered",
            detail: e.to_string(),
        }),
    }
}

fn overlap(other: &RolloutId) -> EngineError {
    EngineError::Store(StoreError::Conflict {
        slug: "rollout-overlap",
        detail: format!(
            "rollout {other} covers a model in one of these markets and is not halted; halt it first"
        ),
    })
}

/// `scheduled` (before the start), `running`, `paused`, `halted`, or `complete`
/// (running at its last wave).
fn state_of(book: &RolloutBook, now: DateTime<Utc>) -> &'static str {
    match book.status() {
        _ if now < book.terms().starts_at => "scheduled",
        RolloutStatus::Running if book.complete() => "complete",
        RolloutStatus::Running => "running",
        RolloutStatus::Paused => "paused",
        RolloutStatus::Halted => "halted",
    }
}

fn unknown_rollout(id: &RolloutId) -> EngineError {
    crate::not_found("rollout", id)
}

impl Inner {
    /// The desk. A panic elsewhere while it was held leaves its data whole (each
    /// change to it is one apply), so a poisoned lock is taken as it is.
    fn desk(&self) -> std::sync::MutexGuard<'_, Desk> {
        self.desk
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Desk {
    fn book(&self, id: &RolloutId) -> Result<&RolloutBook, EngineError> {
        self.books.get(id).ok_or_else(|| unknown_rollout(id))
    }

    /// Applies `events` to `rollout`'s book and queues them; the decision's number.
    fn record(&mut self, rollout: &RolloutId, events: Vec<RolloutEvent>) -> u64 {
        if let Some(book) = self.books.get_mut(rollout) {
            for event in &events {
                book.apply(event);
            }
        }
        self.pending
            .events
            .extend(events.into_iter().map(|e| (rollout.clone(), e)));
        self.pending.queued += 1;
        self.pending.queued
    }
}

impl Rollouts {
    /// Loads every release and rollout, rebuilds each book from its journal, and
    /// starts the writer and the timer.
    pub async fn start(store: Arc<dyn Store>, clock: Clock) -> Result<Rollouts, EngineError> {
        Self::start_on(store, clock, None).await
    }

    /// As [`Rollouts::start`], on node `node` of several sharing the database: every
    /// node applies the events the others write (a halt on one stops the offers of
    /// all within [`FOLLOW_EVERY`]) and meets the releases and rollouts they create.
    pub async fn start_on(
        store: Arc<dyn Store>,
        clock: Clock,
        node: Option<Arc<str>>,
    ) -> Result<Rollouts, EngineError> {
        // Groups written while the books load are applied again: events are
        // idempotent (an offer once per device, a report sets a status, a wave or a
        // state is set, not stepped).
        let head = store.rollout_journal_head().await?;
        let releases = store
            .releases()
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), Arc::new(r)))
            .collect();
        let mut books = BTreeMap::new();
        for terms in store.rollouts().await? {
            let mut book = RolloutBook::new(terms.clone());
            for event in store.rollout_journal(&terms.id).await? {
                book.apply(&event);
            }
            books.insert(terms.id, book);
        }
        let rollouts = Rollouts {
            inner: Arc::new(Inner {
                store,
                clock,
                node: node.clone().unwrap_or_else(|| Arc::from("")),
                desk: Mutex::new(Desk {
                    releases,
                    offers: HashMap::new(),
                    books,
                    pending: Pending::default(),
                }),
                starting: tokio::sync::Mutex::new(()),
                wake: Notify::new(),
                flushed: watch::Sender::new(0),
            }),
        };
        tokio::spawn(write_forever(Arc::downgrade(&rollouts.inner)));
        tokio::spawn(tick_forever(Arc::downgrade(&rollouts.inner)));
        if node.is_some() {
            tokio::spawn(follow_forever(Arc::downgrade(&rollouts.inner), head));
        }
        Ok(rollouts)
    }

    fn desk(&self) -> std::sync::MutexGuard<'_, Desk> {
        self.inner.desk()
    }

    /// Makes everything decided so far durable: call it when the server stops.
    pub async fn flush(&self) -> Result<(), EngineError> {
        let number = {
            let mut desk = self.desk();
            desk.pending.queued += 1;
            desk.pending.queued
        };
        self.durable(number).await
    }

    /// A rollout that is not halted and would offer a build to a device `terms` also
    /// covers, other than `terms` itself.
    fn overlapping(desk: &Desk, terms: &RolloutTerms) -> Option<RolloutId> {
        let release = desk.releases.get(&terms.release)?;
        desk.books
            .values()
            .find(|b| {
                b.terms().id != terms.id
                    && b.status() != RolloutStatus::Halted
                    && desk
                        .releases
                        .get(&b.terms().release)
                        .is_some_and(|r| terms.overlaps(release, b.terms(), r))
            })
            .map(|b| b.terms().id.clone())
    }

    /// Waits until decision `number` is durable; a 503 after [`DURABLE_WITHIN`].
    async fn durable(&self, number: u64) -> Result<(), EngineError> {
        self.inner.wake.notify_one();
        let mut flushed = self.inner.flushed.subscribe();
        let done = tokio::time::timeout(DURABLE_WITHIN, flushed.wait_for(|&done| done >= number))
            .await
            .is_ok_and(|waited| waited.is_ok());
        if done {
            Ok(())
        } else {
            Err(EngineError::Unavailable(
                "the rollout's journal could not be written in time; retry".into(),
            ))
        }
    }

    pub async fn create_release(&self, release: Release) -> Result<Release, EngineError> {
        let release = release.validate().map_err(rollout_error)?;
        self.inner
            .store
            .create_release(&release, self.inner.clock.now())
            .await?;
        self.desk()
            .releases
            .insert(release.id.clone(), Arc::new(release.clone()));
        Ok(release)
    }

    pub fn releases(&self) -> Vec<Release> {
        let desk = self.desk();
        let mut releases: Vec<Release> = desk.releases.values().map(|r| (**r).clone()).collect();
        releases.sort_by(|a, b| a.id.cmp(&b.id));
        releases
    }

    /// Creates a rollout of an existing release. A rollout that is not halted and
    /// shares a market and a model with this one is a conflict: a device would not
    /// know which build to take.
    pub async fn create_rollout(&self, terms: RolloutTerms) -> Result<RolloutView, EngineError> {
        let terms = terms.validate().map_err(rollout_error)?;
        let _starting = self.inner.starting.lock().await;
        if !self.desk().releases.contains_key(&terms.release) {
            // Perhaps another node created it.
            self.inner.meet_new().await?;
        }
        {
            let desk = self.desk();
            if !desk.releases.contains_key(&terms.release) {
                return Err(crate::not_found("release", &terms.release));
            }
            if let Some(other) = Self::overlapping(&desk, &terms) {
                return Err(overlap(&other));
            }
        }
        self.inner
            .store
            .create_rollout(&terms, self.inner.clock.now())
            .await?;
        let id = terms.id.clone();
        self.desk()
            .books
            .insert(id.clone(), RolloutBook::new(terms));
        self.view(&id).await
    }

    /// Meets a rollout another node created, when `id` is not known here.
    async fn meet_if_unknown(&self, id: &RolloutId) -> Result<(), EngineError> {
        if !self.desk().books.contains_key(id) && !self.inner.node.is_empty() {
            self.inner.meet_new().await?;
        }
        Ok(())
    }

    /// Every rollout's id, oldest id first.
    pub fn rollout_ids(&self) -> Vec<RolloutId> {
        self.desk().books.keys().cloned().collect()
    }

    /// A rollout's terms and journal-built state, and per wave the registered
    /// devices it covers.
    pub async fn view(&self, id: &RolloutId) -> Result<RolloutView, EngineError> {
        self.meet_if_unknown(id).await?;
        let (book, release) = {
            let desk = self.desk();
            let book = desk.book(id)?.clone();
            let release = desk.releases.get(&book.terms().release).cloned();
            (book, release)
        };
        let now = self.inner.clock.now();
        let terms = book.terms().clone();
        let mut eligible = vec![0u64; terms.waves.len()];
        if let Some(release) = &release {
            let models: Vec<ProductId> = release
                .builds
                .iter()
                .flat_map(|b| b.models.clone())
                .collect();
            for device in self
                .inner
                .store
                .registered_devices(&terms.markets, &models)
                .await?
            {
                let can_take =
                    device.os_version >= release.min_version && device.os_version < release.version;
                let took = book.progress_of(&device.serial) == Some(DeviceStatus::Installed);
                if can_take || took {
                    eligible[terms.wave_of(bucket(&terms.id, &device.serial))] += 1;
                }
            }
        }
        let mut covered = 0;
        let waves = book
            .waves()
            .into_iter()
            .zip(eligible)
            .map(|(progress, n)| {
                covered += n;
                WaveFigures {
                    eligible: covered,
                    progress,
                }
            })
            .collect();
        Ok(RolloutView {
            state: state_of(&book, now),
            halt_reason: book.halt_reason().map(str::to_owned),
            wave: book.wave() + 1,
            percent: terms.waves[book.wave()].percent,
            wave_since: book.wave_since(),
            failure_rate: book.failure_rate(),
            reports: book.reports(),
            waves,
            terms,
        })
    }

    /// An operator's action, answered once durable.
    pub async fn act(
        &self,
        id: &RolloutId,
        action: RolloutAction,
    ) -> Result<RolloutView, EngineError> {
        let now = self.inner.clock.now();
        // A resumed rollout must not overlap one created while it was halted.
        let _starting = match action {
            RolloutAction::Resume => Some(self.inner.starting.lock().await),
            _ => None,
        };
        self.meet_if_unknown(id).await?;
        let number = {
            let mut desk = self.desk();
            let book = desk.book(id)?;
            if action == RolloutAction::Resume {
                if let Some(other) = Self::overlapping(&desk, book.terms()) {
                    return Err(overlap(&other));
                }
            }
            let event = match action {
                RolloutAction::Advance => book.decide_advance(now),
                RolloutAction::Pause => book.decide_pause(now),
                RolloutAction::Resume => book.decide_resume(now),
                RolloutAction::Halt => book.decide_halt(now),
            }
            .map_err(rollout_error)?;
            desk.record(id, vec![event])
        };
        self.durable(number).await?;
        self.view(id).await
    }

    /// A device checks in with the version it runs: the build to install, if a
    /// rollout offers it one. Its version goes to the registry with the next commit.
    pub fn check_in(
        &self,
        device: &DeviceClaim,
        version: OsVersion,
    ) -> Result<Option<Arc<Offer>>, EngineError> {
        let now = self.inner.clock.now();
        let mut desk = self.desk();
        let desk = &mut *desk;
        if desk.pending.events.len() + desk.pending.versions.len() > PENDING_MAX {
            return Err(EngineError::Overloaded);
        }
        let mut offered = None;
        for (id, book) in &desk.books {
            let Some(release) = desk.releases.get(&book.terms().release) else {
                continue;
            };
            if let Some((build, event)) = book.decide_offer(
                release,
                &device.serial,
                &device.product,
                &device.market,
                &version,
                now,
            ) {
                let index = release
                    .builds
                    .iter()
                    .position(|b| std::ptr::eq(b, build))
                    .unwrap_or(0);
                offered = Some((id.clone(), release.clone(), index, event));
                break;
            }
        }
        let answer = offered.map(|(id, release, index, event)| {
            let offer = match desk.offers.get(&id) {
                Some(offers) => offers[index].clone(),
                None => {
                    let offers: Vec<Arc<Offer>> = release
                        .builds
                        .iter()
                        .map(|build| {
                            Arc::new(Offer {
                                rollout: id.clone(),
                                release: release.id.clone(),
                                version: release.version.clone(),
                                base: build.base.clone(),
                                url: build.url.clone(),
                                sha256: build.sha256.clone(),
                                size: build.size,
                            })
                        })
                        .collect();
                    let offer = offers[index].clone();
                    desk.offers.insert(id.clone(), offers);
                    offer
                }
            };
            if let Some(event) = event {
                desk.record(&id, vec![event]);
            }
            offer
        });
        desk.pending
            .versions
            .insert(device.serial.clone(), (version, None));
        Ok(answer)
    }

    /// A device reports progress on a rollout's build, answered once durable. An
    /// installed build becomes the device's version and base.
    pub async fn report(
        &self,
        device: &DeviceClaim,
        rollout: &RolloutId,
        status: DeviceStatus,
    ) -> Result<&'static str, EngineError> {
        let now = self.inner.clock.now();
        // A device the book does not know: its offer may have been decided and lost
        // with a stop before its commit. The registry says whether it could take the
        // build (read only in this rare case).
        let unknown = self
            .desk()
            .book(rollout)?
            .progress_of(&device.serial)
            .is_none();
        let registered = match unknown {
            true => self.inner.store.registered_device(&device.serial).await?,
            false => None,
        };
        let number = {
            let mut desk = self.desk();
            let book = desk.book(rollout)?;
            let missed = registered.as_ref().and_then(|r| {
                let release = desk.releases.get(&book.terms().release)?;
                release.offers(&device.product, &r.os_version)?;
                book.decide_missed_offer(
                    release,
                    &device.serial,
                    &device.product,
                    &device.market,
                    now,
                )
            });
            if let Some(offer) = missed {
                desk.record(rollout, vec![offer]);
            }
            let book = desk.book(rollout)?;
            let events = book
                .decide_report(&device.serial, status, now)
                .map_err(rollout_error)?;
            let installed = events.iter().any(|e| {
                matches!(
                    e,
                    RolloutEvent::Reported {
                        status: DeviceStatus::Installed,
                        ..
                    }
                )
            });
            if installed {
                let release = desk.releases.get(&book.terms().release).cloned();
                if let Some(build) = release
                    .as_ref()
                    .and_then(|r| r.build_for(&device.product).map(|b| (r, b)))
                {
                    let (release, build) = build;
                    desk.pending.versions.insert(
                        device.serial.clone(),
                        (release.version.clone(), Some(build.base.clone())),
                    );
                }
            }
            desk.record(rollout, events)
        };
        self.durable(number).await?;
        let desk = self.desk();
        Ok(state_of(desk.book(rollout)?, now))
    }
}

/// One commit's worth of work: the events and versions decisions queued, up to
/// decision number `upto`.
struct Flush {
    /// The events in groups of one rollout, in the order decided.
    grouped: Vec<(RolloutId, Vec<RolloutEvent>)>,
    versions: Vec<DeviceVersion>,
    upto: u64,
}

impl Flush {
    /// Takes what decisions queued, leaving room for as many again.
    fn take(pending: &mut Pending) -> Flush {
        let fresh = Pending {
            events: Vec::with_capacity(pending.events.len()),
            versions: HashMap::with_capacity(pending.versions.len()),
            queued: pending.queued,
        };
        let pending = std::mem::replace(pending, fresh);
        let mut grouped: Vec<(RolloutId, Vec<RolloutEvent>)> = Vec::new();
        for (id, event) in pending.events {
            match grouped.last_mut() {
                Some((last, group)) if *last == id => group.push(event),
                _ => grouped.push((id, vec![event])),
            }
        }
        let versions = pending
            .versions
            .into_iter()
            .map(|(serial, (os_version, os_base))| DeviceVersion {
                serial,
                os_version,
                os_base,
            })
            .collect();
        Flush {
            grouped,
            versions,
            upto: pending.queued,
        }
    }
}

/// Devices installed and failed over a rollout's time, from its journal:
/// `(seconds since starts_at, count)` after each change, at most one point a minute.
pub type Progress = (Vec<(f64, i64)>, Vec<(f64, i64)>);

impl Rollouts {
    pub async fn history(&self, id: &RolloutId) -> Result<Progress, EngineError> {
        let starts_at = self.desk().book(id)?.terms().starts_at.timestamp_millis();
        let mut statuses: HashMap<Serial, DeviceStatus> = HashMap::new();
        let (mut installed, mut failed) = (0i64, 0i64);
        let (mut installed_line, mut failed_line): Progress = (Vec::new(), Vec::new());
        let push = |line: &mut Vec<(f64, i64)>, at_ms: i64, n: i64| {
            let t = (at_ms - starts_at) as f64 / 1000.0;
            match line.last_mut() {
                Some(last) if t - last.0 < 60.0 => last.1 = n,
                _ => line.push((t, n)),
            }
        };
        for event in self.inner.store.rollout_journal(id).await? {
            if let RolloutEvent::Reported {
                serial,
                status,
                at_ms,
            } = event
            {
                let before = statuses.insert(serial, status);
                for (s, delta) in [(before, -1), (Some(status), 1)] {
                    match s {
                        Some(DeviceStatus::Installed) => installed += delta,
                        Some(DeviceStatus::Failed) => failed += delta,
                        _ => {}
                    }
                }
                push(&mut installed_line, at_ms, installed);
                push(&mut failed_line, at_ms, failed);
            }
        }
        Ok((installed_line, failed_line))
    }
}

/// Commits what decisions queued, every [`FLUSH_EVERY`] at most, until the rollouts
/// are dropped. A failed commit keeps its work and is tried again.
async fn write_forever(inner: std::sync::Weak<Inner>) {
    let mut carried: Option<Flush> = None;
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let flush = match carried.take() {
            Some(work) => work,
            None => Flush::take(&mut strong.desk().pending),
        };
        if flush.grouped.is_empty() && flush.versions.is_empty() {
            strong.flushed.send_if_modified(|done| {
                let moved = *done < flush.upto;
                *done = (*done).max(flush.upto);
                moved
            });
            let _ = tokio::time::timeout(Duration::from_millis(250), strong.wake.notified()).await;
            continue;
        }
        match strong
            .store
            .record_rollout_progress(&flush.grouped, &flush.versions, &strong.node)
            .await
        {
            Ok(()) => {
                strong.flushed.send_replace(flush.upto);
            }
            Err(e) => {
                tracing::error!(error = %e, "rollout progress could not be written; retrying");
                carried = Some(flush);
                drop(strong);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        }
        drop(strong);
        tokio::time::sleep(FLUSH_EVERY).await;
    }
}

/// How often a node of several reads the events the others wrote.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// Applies the rollout events other nodes write, and meets the releases and
/// rollouts they create, until the rollouts are dropped.
async fn follow_forever(inner: std::sync::Weak<Inner>, mut after: i64) {
    for round in 1u64.. {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let Some(strong) = inner.upgrade() else {
            return;
        };
        // A rollout created elsewhere is met with its first events, or within a few
        // rounds if it has none yet.
        let met = if round % 4 == 0 {
            strong.meet_new().await
        } else {
            Ok(())
        };
        if let Err(e) = met.and(strong.follow(&mut after).await) {
            tracing::warn!(error = %e, "following the other nodes' rollouts failed");
        }
    }
}

impl Inner {
    async fn follow(&self, after: &mut i64) -> Result<(), StoreError> {
        let groups = self.store.rollout_journal_after(*after, &self.node).await?;
        let unknown = {
            let desk = self.desk();
            groups.iter().any(|(_, id, _)| !desk.books.contains_key(id))
        };
        if unknown {
            self.meet_new().await?;
        }
        let mut desk = self.desk();
        for (number, rollout, events) in groups {
            *after = number;
            if let Some(book) = desk.books.get_mut(&rollout) {
                for event in &events {
                    book.apply(event);
                }
            }
        }
        Ok(())
    }

    /// Loads the releases and rollouts another node created since this one started
    /// (a rollout with its journal so far).
    async fn meet_new(&self) -> Result<(), StoreError> {
        let releases = self.store.releases().await?;
        let terms = self.store.rollouts().await?;
        let new: Vec<RolloutTerms> = {
            let desk = self.desk();
            terms
                .into_iter()
                .filter(|t| !desk.books.contains_key(&t.id))
                .collect()
        };
        let mut books = Vec::new();
        for terms in new {
            let mut book = RolloutBook::new(terms.clone());
            for event in self.store.rollout_journal(&terms.id).await? {
                book.apply(&event);
            }
            books.push(book);
        }
        let mut desk = self.desk();
        for release in releases {
            desk.releases
                .entry(release.id.clone())
                .or_insert_with(|| Arc::new(release));
        }
        for book in books {
            desk.books.entry(book.terms().id.clone()).or_insert(book);
        }
        Ok(())
    }
}

/// Moves automatic rollouts on after their soak, until the rollouts are dropped.
async fn tick_forever(inner: std::sync::Weak<Inner>) {
    loop {
        tokio::time::sleep(TICK_EVERY).await;
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let now = strong.clock.now();
        let mut desk = strong.desk();
        let due: Vec<(RolloutId, RolloutEvent)> = desk
            .books
            .iter()
            .filter_map(|(id, book)| book.decide_tick(now).map(|e| (id.clone(), e)))
            .collect();
        for (id, event) in due {
            tracing::info!(rollout = %id, ?event, "rollout moves on after its soak");
            desk.record(&id, vec![event]);
        }
    }
}

/// The header of an installed-base file.
pub const DEVICES_HEADER: &str = "serial,sku,market,os_version,sold_at";

/// Reads an installed-base CSV (`serial,sku,market,os_version,sold_at`, `sold_at` an
/// RFC 3339 instant or a date), every row checked; any bad row refuses the whole file
/// with the first bad lines named.
pub fn parse_devices(
    csv_bytes: &[u8],
) -> Result<Vec<soldout_store::ImportedDevice>, crate::imports::ImportError> {
    use crate::imports::{ImportError, IMPORT_ERRORS_SHOWN};
    use soldout_core::shipment::RowError;
    use soldout_core::SkuCode;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(csv_bytes);
    let found = reader
        .headers()
        .map_err(|e| ImportError::Read(e.to_string()))?
        .iter()
        .collect::<Vec<_>>()
        .join(",");
    if found != DEVICES_HEADER {
        return Err(ImportError::Header {
            expected: DEVICES_HEADER.into(),
            found,
        });
    }
    let mut devices = Vec::new();
    let mut errors = Vec::new();
    let mut bad_rows = 0u64;
    for (i, record) in reader.records().enumerate() {
        // The record's own line (quoted fields may span lines), else its ordinal.
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(i as u64 + 2, |p| p.line());
        let row = record
            .map_err(|e| RowError::new(line, "", e.to_string()))
            .and_then(|r| {
                let field = |n: usize| r.get(n).unwrap_or_default();
                if r.len() != 5 {
                    return Err(RowError::new(
                        line,
                        "",
                        format!("{} fields; 5 expected", r.len()),
                    ));
                }
                let bad = |column: &str, e: String| RowError::new(line, column, e);
                let sold_at = field(4);
                let sold_at = sold_at
                    .parse::<DateTime<Utc>>()
                    .or_else(|_| {
                        sold_at
                            .parse::<chrono::NaiveDate>()
                            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                    })
                    .map_err(|_| {
                        bad(
                            "sold_at",
                            format!("{sold_at:?} is not a date or an RFC 3339 instant"),
                        )
                    })?;
                Ok(soldout_store::ImportedDevice {
                    serial: Serial::parse(field(0)).map_err(|e| bad("serial", e.to_string()))?,
                    sku: SkuCode::parse(field(1)).map_err(|e| bad("sku", e.to_string()))?,
                    market: MarketCode::parse(field(2))
                        .map_err(|e| bad("market", e.to_string()))?,
                    os_version: OsVersion::parse(field(3))
                        .map_err(|e| bad("os_version", e.to_string()))?,
                    sold_at,
                })
            });
        match row {
            Ok(device) if errors.is_empty() => devices.push(device),
            Ok(_) => {}
            Err(e) => {
                bad_rows += 1;
                if errors.len() < IMPORT_ERRORS_SHOWN {
                    errors.push(e);
                }
            }
        }
    }
    if bad_rows > 0 {
        return Err(ImportError::Rows { errors, bad_rows });
    }
    Ok(devices)
}
