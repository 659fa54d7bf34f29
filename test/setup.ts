// Loaded before every test file (.mocharc.json): quiet the AWS SDK's Node-version notice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
