// Placeholder; replaced by the values module.
