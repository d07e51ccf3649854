export const PACKAGE_NAME = '@detkit/core';
