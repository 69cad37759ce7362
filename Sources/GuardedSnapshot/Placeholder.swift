public enum GuardedSnapshotPlaceholder {}
