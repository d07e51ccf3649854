export const PACKAGE_NAME = '@detkit/kd-detr';
