// Atomic writes come from core, so every package writes files the same way.
export { writeFileAtomic, tempSibling } from '@detkit/core';
