//! CloudWatch Logs filter patterns (placeholder; being written).
