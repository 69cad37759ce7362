public enum GuardedSupervisorPlaceholder {}
