export const TEMPLATE_DB = 'playstream_template';
