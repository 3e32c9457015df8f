//! Integration tests: the real server on an ephemeral loopback port with a fresh
//! SQLite file per test, driven over HTTP.

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
mod sessions;
mod shop;
mod stock;
mod stores;
mod system;
mod web;
