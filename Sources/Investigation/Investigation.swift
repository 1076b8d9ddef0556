// The Investigation module; its types arrive with the issues that build them.
