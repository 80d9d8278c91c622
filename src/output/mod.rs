//! Rendering only: tables, JSON and progress bars. No decisions are made here.
