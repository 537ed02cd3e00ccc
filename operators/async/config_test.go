package async

import (
	"errors"
	"strings"
	"testing"
)

func TestConfig_Validate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	if c := DefaultConfig(); c.Capacity != 100 || c.Mode != Ordered || c.Timeout != 0 {
		t.Errorf("DefaultConfig() = %+v", c)
	}
	tests := []struct {
		field string
		edit  func(*Config)
	}{
		{"Mode", func(c *Config) { c.Mode = 3 }},
		{"Capacity", func(c *Config) { c.Capacity = 0 }},
		{"Timeout", func(c *Config) { c.Timeout = -1 }},
		{"Retry", func(c *Config) { c.Retry = nil }},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		err := c.Validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("invalid %s: err = %v, want ErrConfig naming the field", tt.field, err)
		}
	}
}
