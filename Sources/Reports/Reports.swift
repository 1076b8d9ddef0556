// The Reports module; its types arrive with the issues that build them.
