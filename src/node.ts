/** The Node entry: the browser surface plus what needs Node (files, media engine, LAN, hub). */
export * from './browser.js';
