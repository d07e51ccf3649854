export const PACKAGE_NAME = '@detkit/detectors';
