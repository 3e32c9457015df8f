// The API test modules, one list for both builds: `main.rs` (SQLite) and
// `../api_postgres.rs` (PostgreSQL) include it.

mod helpers;

mod auth;
mod bad_input;
mod catalog;
mod connections;
mod flash_sales;
mod imports;
mod orders;
mod os;
mod payments;
mod races;
mod sessions;
mod shop;
mod stock;
mod stores;
mod system;
mod web;
