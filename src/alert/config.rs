//! Loading `alerts/*.yaml`: channels and routes, validated with `FILE:LINE:COLUMN` diagnostics.
