public enum GuardedRepairPlaceholder {}
