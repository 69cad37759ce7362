public enum GuardedFleetPlaceholder {}
