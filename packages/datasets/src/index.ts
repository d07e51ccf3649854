export const PACKAGE_NAME = '@detkit/datasets';
