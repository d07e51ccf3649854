export const PACKAGE_NAME = '@detkit/hooks';
