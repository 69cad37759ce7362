public enum GuardedCheckPlaceholder {}
