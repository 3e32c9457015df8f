//! Imports of outside data (shipments: partner sell-in and history; tracker data:
//! the market's units per vendor; exchange rates), all or nothing and streaming. A
//! first pass only hashes the file: content imported before changes nothing. The
//! second pass parses and checks every row against the catalog and streams the rows,
//! in chunks, into one write transaction, so memory stays flat whatever the file's
//! size; the first bad row rolls the transaction back, and the pass reads on only to
//! name the first bad lines. A file that changed between the passes writes nothing.
//! An explicit batch name replaces that batch.

use crate::{Clock, EngineError};
use soldout_core::fx::{parse_fx_row, FxKeys, FxRate, FX_HEADER, FX_ROWS_MAX};
use soldout_core::shipment::{
    parse_shipment_row, ImportCatalog, RowError, Shipment, SHIPMENTS_HEADER,
};
use soldout_core::tracker::{
    parse_tracker_row, TrackerKeys, TrackerRow, TRACKER_HEADER, TRACKER_ROWS_MAX,
};
pub use soldout_store::ImportKind;
use soldout_store::{ImportChunk, Store, StoreError};
use std::io::Read;
use std::sync::Arc;
use tokio::sync::mpsc;
use xxhash_rust::xxh3::Xxh3;

/// Bad lines an import names before it stops listing them.
pub const IMPORT_ERRORS_SHOWN: usize = 20;
/// Rows written per chunk.
const CHUNK_ROWS: usize = 10_000;
/// Longest batch name.
const BATCH_NAME_LEN_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    Imported,
    /// A batch of that name was imported before; its rows were replaced.
    Replaced,
    /// The same content was imported before: nothing changed.
    AlreadyImported,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub batch: String,
    pub rows: u64,
    pub status: ImportStatus,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the header must be {expected}; it is {found}")]
    Header { expected: String, found: String },
    #[error("{bad_rows} bad rows; nothing was imported")]
    Rows {
        /// The first bad lines.
        errors: Vec<RowError>,
        bad_rows: u64,
    },
    #[error("the file has a header and no rows: nothing to import")]
    NoRows,
    #[error("the file has more than {0} rows: split it (by period, say) and import each part")]
    TooManyRows(u64),
    #[error("batch name {0:?}: 1 to 100 letters, digits, dots, dashes or underscores")]
    BatchName(String),
    #[error("reading the file: {0}")]
    Read(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        ImportError::Engine(e.into())
    }
}

/// Where an import's bytes come from; opened once per pass.
pub trait Source: Send + Sync + 'static {
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>>;
}

impl Source for std::path::PathBuf {
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(self)?,
        )))
    }
}

/// An in-memory file (an HTTP body).
pub struct InMemory(pub Arc<[u8]>);

impl Source for InMemory {
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::io::Cursor::new(self.0.clone())))
    }
}

/// Hashes what passes through.
struct Hashing<R> {
    inner: R,
    hash: Xxh3,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input)
}

fn check_header<R: Read>(kind: ImportKind, reader: &mut csv::Reader<R>) -> Result<(), ImportError> {
    let header = reader
        .headers()
        .map_err(|e| ImportError::Read(e.to_string()))?;
    let found: Vec<&str> = header.iter().map(str::trim).collect();
    let ok = match kind {
        ImportKind::Shipments => found == SHIPMENTS_HEADER,
        ImportKind::Tracker => {
            found.len() >= 4
                && found[..4] == TRACKER_HEADER
                && (found.len() == 4 || found[4..] == ["model"])
        }
        ImportKind::Fx => found == FX_HEADER,
    };
    if !ok {
        let expected = match kind {
            ImportKind::Shipments => SHIPMENTS_HEADER.join(","),
            ImportKind::Tracker => format!("{}[,model]", TRACKER_HEADER.join(",")),
            ImportKind::Fx => FX_HEADER.join(","),
        };
        return Err(ImportError::Header {
            expected,
            found: found.join(","),
        });
    }
    Ok(())
}

/// One parsed row of any kind.
enum Parsed {
    Shipment(Shipment),
    Tracker(TrackerRow),
    Fx(FxRate),
}

/// The rows of one file read so far, for the kinds where a key may appear once per
/// file: a tracker row per period, market, vendor and model; a rate per quarter and
/// currency. Shipments have no such key (two sales on one day are two rows).
enum SeenKeys {
    Shipments,
    Tracker(TrackerKeys),
    Fx(FxKeys),
}

impl SeenKeys {
    fn new(kind: ImportKind) -> Self {
        match kind {
            ImportKind::Shipments => SeenKeys::Shipments,
            ImportKind::Tracker => SeenKeys::Tracker(TrackerKeys::default()),
            ImportKind::Fx => SeenKeys::Fx(FxKeys::default()),
        }
    }

    /// Most rows a file of this kind may have: the keys seen are kept for the whole
    /// file, so their count is bounded.
    fn rows_max(&self) -> Option<u64> {
        match self {
            SeenKeys::Shipments => None,
            SeenKeys::Tracker(_) => Some(TRACKER_ROWS_MAX),
            SeenKeys::Fx(_) => Some(FX_ROWS_MAX),
        }
    }

    fn parse(
        &mut self,
        line: u64,
        fields: &[&str],
        catalog: &ImportCatalog,
    ) -> Result<Parsed, Vec<RowError>> {
        match self {
            // The store names the batch as the rows' source.
            SeenKeys::Shipments => {
                parse_shipment_row(line, fields, catalog, "").map(Parsed::Shipment)
            }
            SeenKeys::Tracker(keys) => {
                let row = parse_tracker_row(line, fields, catalog)?;
                keys.check(line, &row).map_err(|e| vec![e])?;
                Ok(Parsed::Tracker(row))
            }
            SeenKeys::Fx(keys) => {
                let rate = parse_fx_row(line, fields, catalog)?;
                keys.check(line, &rate).map_err(|e| vec![e])?;
                Ok(Parsed::Fx(rate))
            }
        }
    }
}

/// Rows gathered for one chunk.
struct Chunk {
    kind: ImportKind,
    shipments: Vec<Shipment>,
    tracker: Vec<TrackerRow>,
    fx: Vec<FxRate>,
}

impl Chunk {
    fn new(kind: ImportKind) -> Self {
        Chunk {
            kind,
            shipments: Vec::with_capacity(CHUNK_ROWS),
            tracker: Vec::new(),
            fx: Vec::new(),
        }
    }
    fn push(&mut self, row: Parsed) {
        match row {
            Parsed::Shipment(s) => self.shipments.push(s),
            Parsed::Tracker(t) => self.tracker.push(t),
            Parsed::Fx(r) => self.fx.push(r),
        }
    }
    fn len(&self) -> usize {
        self.shipments.len() + self.tracker.len() + self.fx.len()
    }
    fn take(&mut self) -> ImportChunk {
        let full = std::mem::replace(self, Chunk::new(self.kind));
        match self.kind {
            ImportKind::Shipments => ImportChunk::Shipments(full.shipments),
            ImportKind::Tracker => ImportChunk::Tracker(full.tracker),
            ImportKind::Fx => ImportChunk::Fx(full.fx),
        }
    }
}

/// What one full read of a file found: its content's hash and its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Checked {
    hash: String,
    rows: u64,
}

/// One read of the file: checks its header, parses every row and hands each to `each` with the count so far; `each` says
/// whether to read on. Returns the hash and the row count when the whole file was
/// read, `None` when `each` stopped early.
fn read_rows(
    kind: ImportKind,
    source: &dyn Source,
    catalog: &ImportCatalog,
    mut each: impl FnMut(u64, Result<Parsed, Vec<RowError>>) -> Result<bool, ImportError>,
) -> Result<Option<Checked>, ImportError> {
    let read_error = |e: &dyn std::fmt::Display| ImportError::Read(e.to_string());
    let mut hashing = Hashing {
        inner: source.open().map_err(|e| read_error(&e))?,
        hash: Xxh3::new(),
    };
    let mut reader = csv_reader(&mut hashing);
    check_header(kind, &mut reader)?;
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    let mut seen = SeenKeys::new(kind);
    while reader
        .read_record(&mut record)
        .map_err(|e| read_error(&e))?
    {
        rows += 1;
        if let Some(max) = seen.rows_max().filter(|&max| rows > max) {
            return Err(ImportError::TooManyRows(max));
        }
        let line = record.position().map_or(rows + 1, |p| p.line());
        let fields: Vec<&str> = record.iter().collect();
        if !each(rows, seen.parse(line, &fields, catalog))? {
            return Ok(None);
        }
    }
    drop(reader);
    if rows == 0 {
        return Err(ImportError::NoRows);
    }
    // Whatever the CSV reader left unread still counts towards the hash.
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(|e| read_error(&e))?;
    Ok(Some(Checked {
        hash: format!("{:032x}", hashing.hash.digest128()),
        rows,
    }))
}

/// The first pass: the hash of the file's content.
fn hash_of(source: &dyn Source) -> Result<String, ImportError> {
    let mut hashing = Hashing {
        inner: source
            .open()
            .map_err(|e| ImportError::Read(e.to_string()))?,
        hash: Xxh3::new(),
    };
    std::io::copy(&mut hashing, &mut std::io::sink())
        .map_err(|e| ImportError::Read(e.to_string()))?;
    Ok(format!("{:032x}", hashing.hash.digest128()))
}

/// The second pass: parses every row and sends them in chunks, then `None` only if
/// no row was bad and the file is still byte for byte the one the first pass hashed
/// (a file still being written to is refused). At the first bad row it stops
/// sending, so the writer rolls back, and reads on to name the first bad lines.
fn send_rows(
    kind: ImportKind,
    source: &dyn Source,
    catalog: &ImportCatalog,
    hash: &str,
    rows: mpsc::Sender<Option<ImportChunk>>,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<(), ImportError> {
    let mut chunk = Chunk::new(kind);
    let mut sender = Some(rows);
    let (mut bad_rows, mut errors) = (0u64, Vec::new());
    let read = read_rows(kind, source, catalog, |read, parsed| {
        match parsed {
            Ok(row) => {
                let Some(rows) = &sender else {
                    return Ok(true); // past a bad row: only checking
                };
                chunk.push(row);
                if chunk.len() == CHUNK_ROWS {
                    if rows.blocking_send(Some(chunk.take())).is_err() {
                        return Ok(false); // the writer stopped; it reports why
                    }
                    progress(read);
                }
            }
            Err(row_errors) => {
                bad_rows += 1;
                sender = None; // the writer rolls back
                let room = IMPORT_ERRORS_SHOWN.saturating_sub(errors.len());
                errors.extend(row_errors.into_iter().take(room));
            }
        }
        Ok(true)
    })?;
    let Some(read) = read else {
        return Ok(());
    };
    if bad_rows > 0 {
        return Err(ImportError::Rows { errors, bad_rows });
    }
    if read.hash != hash {
        return Err(ImportError::Read(
            "the file changed while it was being imported; nothing was imported".into(),
        ));
    }
    if let Some(rows) = sender {
        let _ = rows.blocking_send(Some(chunk.take()));
        let _ = rows.blocking_send(None);
    }
    Ok(())
}

fn check_batch_name(name: &str) -> Result<(), ImportError> {
    let ok = !name.is_empty()
        && name.len() <= BATCH_NAME_LEN_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(ImportError::BatchName(name.chars().take(40).collect()))
    }
}

async fn catalog(store: &dyn Store) -> Result<ImportCatalog, StoreError> {
    let mut catalog = ImportCatalog::default();
    for market in store.markets().await? {
        catalog.markets.insert(market.code, market.currency);
    }
    for product in store.products().await? {
        catalog.products.insert(
            product.id,
            product.skus.into_iter().map(|s| s.sku).collect(),
        );
    }
    Ok(catalog)
}

/// Imports a CSV of `kind` all or nothing: shipments
/// (`date,market,channel,product,sku,units,revenue,currency`) or tracker data
/// (`period,market,vendor,units[,model]`). `progress` hears the rows read so far
/// (first while checking, then while writing).
pub async fn import(
    kind: ImportKind,
    store: Arc<dyn Store>,
    clock: Clock,
    source: Arc<dyn Source>,
    batch: Option<String>,
    progress: Arc<dyn Fn(u64) + Send + Sync>,
) -> Result<ImportReport, ImportError> {
    if let Some(name) = &batch {
        check_batch_name(name)?;
    }
    let catalog = Arc::new(catalog(store.as_ref()).await?);
    let blocking =
        |e: tokio::task::JoinError| ImportError::Engine(EngineError::Unavailable(e.to_string()));
    let hash = {
        let source = source.clone();
        tokio::task::spawn_blocking(move || hash_of(source.as_ref()))
            .await
            .map_err(blocking)??
    };
    // The same content, under whatever batch name: nothing to do.
    if let Some((earlier, rows)) = store.imported_batch(kind.as_str(), &hash).await? {
        return Ok(ImportReport {
            batch: earlier,
            rows,
            status: ImportStatus::AlreadyImported,
        });
    }
    let batch = batch.unwrap_or_else(|| format!("{}-{}", kind.as_str(), &hash[..16]));
    let (sender, receiver) = mpsc::channel(4);
    let reading = {
        let hash = hash.clone();
        tokio::task::spawn_blocking(move || {
            send_rows(
                kind,
                source.as_ref(),
                &catalog,
                &hash,
                sender,
                progress.as_ref(),
            )
        })
    };
    let written = store
        .import_rows(kind, &batch, &hash, clock.now(), receiver)
        .await;
    reading.await.map_err(blocking)??;
    let (rows, replaced) = match written {
        // Another import of the same content committed first.
        Err(StoreError::AlreadyExists { what: "import", id }) => {
            let rows = store
                .imported_batch(kind.as_str(), &hash)
                .await?
                .map_or(0, |(_, rows)| rows);
            return Ok(ImportReport {
                batch: id,
                rows,
                status: ImportStatus::AlreadyImported,
            });
        }
        other => other?,
    };
    Ok(ImportReport {
        batch,
        rows,
        status: if replaced {
            ImportStatus::Replaced
        } else {
            ImportStatus::Imported
        },
    })
}
